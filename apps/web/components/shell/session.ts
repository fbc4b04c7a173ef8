import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { getServerContext } from "../../lib/server-context.ts";
import type { ShellUser } from "./app-shell.tsx";

export type SignedIn = { user: ShellUser; impersonatedBy: string | null };

/** The signed-in user for a layout, or a redirect to the sign-in page (no flash of a page that cannot load). */
export async function requireSignedIn(): Promise<SignedIn> {
  const result = await getServerContext()
    .auth.api.getSession({ headers: await headers() })
    .catch(() => null);
  if (!result) redirect("/sign-in");
  const user = result.user as typeof result.user & { role?: string | null };
  return {
    user: { name: user.name, email: user.email, role: user.role === "admin" ? "admin" : "client" },
    impersonatedBy: (result.session as { impersonatedBy?: string | null }).impersonatedBy ?? null,
  };
}
