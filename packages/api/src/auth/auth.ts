import { randomUUID } from "node:crypto";
import type { Database } from "@e3/db";
import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { APIError } from "better-auth/api";
import { admin, twoFactor } from "better-auth/plugins";
import { totpReplayGuard } from "./totp-replay.ts";

// Users, passwords, sessions, TOTP and admin impersonation come from better-auth (scrypt password hashes, signed
// cookies, expiring sessions); nothing here hashes a password or mints a session itself. Accounts are created by
// admins and the seed, never by self sign-up.

export type AuthOptions = {
  db: Database;
  /** At least 32 characters; signs cookies and tokens (E3_AUTH_SECRET). */
  secret: string;
  /** The portal's public URL, e.g. https://backup.example.com (E3_PUBLIC_URL). */
  baseURL: string;
  /** Sends the password-reset link; the notification module provides the SMTP transport. */
  sendPasswordReset?: (message: { to: string; url: string }) => Promise<void>;
  /**
   * A session ends this long after its last refresh (E3_SESSION_IDLE_MINUTES). The browser refreshes it through
   * /api/auth/get-session while the user is active (SessionWatch); API calls alone do not extend it.
   */
  sessionIdleSeconds?: number;
};

export const defaultSessionIdleSeconds = 30 * 60;
export const impersonationLifetimeSeconds = 3600;

export function createAuth(options: AuthOptions) {
  const idleSeconds = options.sessionIdleSeconds ?? defaultSessionIdleSeconds;
  return betterAuth({
    appName: "e3",
    secret: options.secret,
    baseURL: options.baseURL,
    database: prismaAdapter(options.db, { provider: "postgresql" }),
    advanced: { database: { generateId: () => randomUUID() } },
    emailAndPassword: {
      enabled: true,
      disableSignUp: true,
      minPasswordLength: 10,
      resetPasswordTokenExpiresIn: 3600,
      sendResetPassword: async ({ user, url }) => {
        if (!options.sendPasswordReset) throw new Error("password reset needs SMTP; set SMTP_URL");
        await options.sendPasswordReset({ to: user.email, url });
      },
    },
    session: {
      expiresIn: idleSeconds,
      // Refreshed at most once a minute (or every tenth of a short idle period), so activity keeps it alive.
      updateAge: Math.max(1, Math.min(60, Math.floor(idleSeconds / 10))),
    },
    user: {
      additionalFields: {
        tenantId: { type: "string", required: false, input: false },
      },
    },
    plugins: [
      admin({
        defaultRole: "client",
        adminRoles: ["admin"],
        impersonationSessionDuration: impersonationLifetimeSeconds,
      }),
      twoFactor({ issuer: "e3 backup" }),
    ],
    hooks: { before: totpReplayGuard(options.db) },
    databaseHooks: {
      session: {
        create: {
          // A disabled tenant's users cannot sign in (an admin may still view the portal as them).
          before: async (session) => {
            if ((session as { impersonatedBy?: string | null }).impersonatedBy) return;
            const user = await options.db.user.findUnique({
              where: { id: session.userId },
              select: { tenant: { select: { disabledAt: true } } },
            });
            if (user?.tenant?.disabledAt) {
              throw new APIError("FORBIDDEN", {
                message: "this account's organization is disabled; ask your backup provider to enable it again",
              });
            }
          },
          // Every impersonation is audited: who viewed the portal as whom, and when.
          after: async (session) => {
            const impersonatedBy = (session as { impersonatedBy?: string | null }).impersonatedBy;
            if (!impersonatedBy) return;
            const target = await options.db.user.findUnique({ where: { id: session.userId } });
            await options.db.auditLog.create({
              data: {
                tenantId: target?.tenantId ?? null,
                actorUserId: impersonatedBy,
                action: "user.impersonate",
                targetType: "user",
                targetId: session.userId,
                ipAddress: session.ipAddress ?? null,
                detailJson: { email: target?.email ?? null, expiresAt: session.expiresAt.toISOString() },
              },
            });
          },
        },
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;
