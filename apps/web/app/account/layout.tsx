import type { ReactNode } from "react";
import { AppShell } from "../../components/shell/app-shell.tsx";
import { ImpersonationBanner } from "../../components/shell/impersonation-banner.tsx";
import { requireSignedIn } from "../../components/shell/session.ts";
import { SessionWatch } from "../../components/shell/session-watch.tsx";
import { sessionIdleSeconds } from "../../lib/server-context.ts";
import { ApiProvider } from "../../lib/trpc-client.tsx";

export const dynamic = "force-dynamic";

/** The account page belongs to admins and clients alike; each sees their own side's navigation. */
export default async function AccountLayout({ children }: { children: ReactNode }) {
  const { user, impersonatedBy } = await requireSignedIn();
  return (
    <ApiProvider>
      <SessionWatch idleSeconds={sessionIdleSeconds()} />
      <AppShell
        user={user}
        section={user.role === "admin" ? "admin" : "client"}
        banner={impersonatedBy ? <ImpersonationBanner email={user.email} /> : undefined}
      >
        {children}
      </AppShell>
    </ApiProvider>
  );
}
