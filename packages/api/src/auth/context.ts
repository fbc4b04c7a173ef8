import type { Context } from "../trpc.ts";
import type { Auth } from "./auth.ts";

/** The tRPC context of one HTTP request: the signed-in user (from better-auth's session cookie), if any. */
export async function createRequestContext(
  request: Request,
  deps: Pick<Context, "db" | "keyring" | "config" | "live" | "mailer" | "portalUrl"> & { auth: Auth },
): Promise<Context> {
  // disableRefresh: API calls (polling included) do not keep a session alive; only the browser's activity-driven
  // get-session refresh does, so an idle tab's session really expires.
  const result = await deps.auth.api.getSession({ headers: request.headers, query: { disableRefresh: true } });
  const ip = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim() || null;
  if (!result)
    return {
      db: deps.db,
      keyring: deps.keyring,
      config: deps.config,
      live: deps.live,
      mailer: deps.mailer ?? null,
      portalUrl: deps.portalUrl,
      user: null,
      impersonatedBy: null,
      ip,
    };
  const user = result.user as typeof result.user & { role?: string | null; tenantId?: string | null };
  return {
    db: deps.db,
    keyring: deps.keyring,
    config: deps.config,
    live: deps.live,
    mailer: deps.mailer ?? null,
    portalUrl: deps.portalUrl,
    user: {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role === "admin" ? "admin" : "client",
      tenantId: user.tenantId ?? null,
    },
    impersonatedBy: (result.session as { impersonatedBy?: string | null }).impersonatedBy ?? null,
    ip,
  };
}
