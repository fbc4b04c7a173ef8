import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { getServerContext } from "../../lib/server-context.ts";
import type { ShellUser } from "./app-shell.tsx";

export type SignedIn = { user: ShellUser; impersonatedBy: string | null };

/** The signed-in user for a layout, or a redirect to the sign-in page (no flash of a page that cannot load). */
export async function requireSignedIn(): Promise<SignedIn> {
  const result = await getServerContext()
    .auth.api.getSession({ headers: await headers() })
    .catch(() => null);
  if (!result) {
    // A session cookie that no longer opens a session: it expired (or was ended), and the sign-in page says so.
    const jar = await cookies();
    const hadSession = jar.getAll().some((cookie) => cookie.name.endsWith("better-auth.session_token"));
    redirect(hadSession ? "/sign-in?reason=expired" : "/sign-in");
  }
  const user = result.user as typeof result.user & { role?: string | null };
  return {
    user: { name: user.name, email: user.email, role: user.role === "admin" ? "admin" : "client" },
    impersonatedBy: (result.session as { impersonatedBy?: string | null }).impersonatedBy ?? null,
  };
}
