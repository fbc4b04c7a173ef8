import type { ReactNode } from "react";
import { AppShell } from "../../components/shell/app-shell.tsx";
import { ImpersonationBanner } from "../../components/shell/impersonation-banner.tsx";
import { requireSignedIn } from "../../components/shell/session.ts";
import { SessionWatch } from "../../components/shell/session-watch.tsx";
import { sessionIdleSeconds } from "../../lib/server-context.ts";
import { ApiProvider } from "../../lib/trpc-client.tsx";

export const dynamic = "force-dynamic";

export default async function ClientLayout({ children }: { children: ReactNode }) {
  const { user, impersonatedBy } = await requireSignedIn();
  return (
    <ApiProvider>
      <SessionWatch idleSeconds={sessionIdleSeconds()} />
      <AppShell user={user} banner={impersonatedBy ? <ImpersonationBanner email={user.email} /> : undefined}>
        {children}
      </AppShell>
    </ApiProvider>
  );
}
