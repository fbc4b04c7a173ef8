import type { ReactNode } from "react";
import { AppShell } from "../../components/shell/app-shell.tsx";
import { requireSignedIn } from "../../components/shell/session.ts";
import { ApiProvider } from "../../lib/trpc-client.tsx";

export const dynamic = "force-dynamic";

export default async function ClientLayout({ children }: { children: ReactNode }) {
  const { user } = await requireSignedIn();
  return (
    <ApiProvider>
      <AppShell user={user}>{children}</AppShell>
    </ApiProvider>
  );
}
