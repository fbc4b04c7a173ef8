"use client";

import { PasswordCard } from "../../components/account/password-card.tsx";
import { TwoFactorCard } from "../../components/account/two-factor-card.tsx";
import { Card, CardBody, CardHeader } from "../../components/ui/card.tsx";
import { PageHeader } from "../../components/ui/page-header.tsx";
import { Skeleton } from "../../components/ui/skeleton.tsx";
import { authClient } from "../../lib/auth-client.ts";

export default function AccountPage() {
  const session = authClient.useSession();
  const user = session.data?.user as
    | { name: string; email: string; role?: string | null; twoFactorEnabled?: boolean | null }
    | undefined;
  return (
    <>
      <PageHeader title="Account and security" description="Your sign-in details and two-factor authentication." />
      <Card aria-labelledby="profile-heading">
        <CardHeader id="profile-heading" title="Profile" />
        <CardBody>
          {user ? (
            <dl className="grid grid-cols-[8rem_1fr] gap-y-2 text-sm">
              <dt className="text-slate-600 dark:text-slate-400">Name</dt>
              <dd>{user.name}</dd>
              <dt className="text-slate-600 dark:text-slate-400">Email</dt>
              <dd data-testid="account-email">{user.email}</dd>
              <dt className="text-slate-600 dark:text-slate-400">Role</dt>
              <dd>{user.role === "admin" ? "Provider admin" : "Client"}</dd>
            </dl>
          ) : (
            <Skeleton lines={3} />
          )}
        </CardBody>
      </Card>
      <PasswordCard />
      {user ? <TwoFactorCard enabled={user.twoFactorEnabled === true} /> : <Skeleton className="h-40" />}
    </>
  );
}
