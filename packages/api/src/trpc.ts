import type { Database } from "@e3/db";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import type { ServerConfig } from "./config.ts";
import type { RunUpdates } from "./live/run-updates.ts";
import type { Mailer } from "./notify/email.ts";
import type { Keyring } from "./secrets/envelope.ts";

// The tRPC context and the three kinds of procedure. Authorization lives here, as middleware, never in handlers:
// a tenant procedure only ever sees `ctx.tenantId`, the caller's own tenant.

export type SessionUser = {
  id: string;
  email: string;
  name: string;
  role: "admin" | "client";
  tenantId: string | null;
};

export type Context = {
  db: Database;
  keyring: Keyring;
  config: Pick<ServerConfig, "AGENT_WATCHDOG_TIMEOUT_SECONDS" | "AGENT_RECLAIM_GRACE_SECONDS"> &
    Partial<Pick<ServerConfig, "E3_ALLOWED_S3_ENDPOINTS">>;
  user: SessionUser | null;
  /** The admin's user id while an admin views the portal as a client user. */
  impersonatedBy: string | null;
  ip: string | null;
  /** Live run updates for subscriptions; null where nothing subscribes (tests of other procedures). */
  live: RunUpdates | null;
  /** SMTP for notification tests; null or absent when SMTP_URL is not set. */
  mailer?: Mailer | null;
  /** The portal's public URL, for links in notifications. */
  portalUrl?: string;
};

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      data: {
        ...shape.data,
        // Field-level messages for forms: { "destination.bucket": "is required" }.
        fieldErrors:
          cause instanceof ZodError
            ? Object.fromEntries(cause.issues.map((issue) => [issue.path.join("."), issue.message]))
            : null,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

export const authedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in to continue" });
  return next({ ctx: { ...ctx, user: ctx.user } });
});

/** Client users, scoped to their tenant (admins act on a tenant by impersonating one of its users). */
export const tenantProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== "client" || !ctx.user.tenantId) {
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "this page belongs to a client account; admins open it with 'view as client'",
    });
  }
  return next({ ctx: { ...ctx, tenantId: ctx.user.tenantId } });
});

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== "admin")
    throw new TRPCError({ code: "FORBIDDEN", message: "only provider admins may do this" });
  return next({ ctx });
});

/** The uniform answer for another tenant's id: it does not exist, as far as the caller can tell. */
export function notFound(what: string): TRPCError {
  return new TRPCError({ code: "NOT_FOUND", message: `${what} not found` });
}
