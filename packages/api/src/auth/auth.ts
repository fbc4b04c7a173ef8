import { randomUUID } from "node:crypto";
import type { Database } from "@e3/db";
import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { admin, twoFactor } from "better-auth/plugins";

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
};

export const sessionLifetimeSeconds = 7 * 24 * 3600;
export const impersonationLifetimeSeconds = 3600;

export function createAuth(options: AuthOptions) {
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
    session: { expiresIn: sessionLifetimeSeconds, updateAge: 24 * 3600 },
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
    databaseHooks: {
      session: {
        create: {
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
