import { notFound } from "next/navigation";
import type { ReactNode } from "react";
import { AppShell } from "../../components/shell/app-shell.tsx";
import { requireSignedIn } from "../../components/shell/session.ts";
import { SessionWatch } from "../../components/shell/session-watch.tsx";
import { sessionIdleSeconds } from "../../lib/server-context.ts";
import { ApiProvider } from "../../lib/trpc-client.tsx";

export const dynamic = "force-dynamic";

/**
 * Provider admins only. A client user (also an admin viewing as a client) gets the 404 page: the admin side does
 * not exist for them. The API refuses them as well (adminProcedure).
 */
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const { user } = await requireSignedIn();
  if (user.role !== "admin") notFound();
  return (
    <ApiProvider>
      <SessionWatch idleSeconds={sessionIdleSeconds()} />
      <AppShell user={user} section="admin">
        {children}
      </AppShell>
    </ApiProvider>
  );
}
