import { randomBytes, randomUUID } from "node:crypto";
import { hashPassword } from "better-auth/crypto";
import type { Prisma } from "./generated/client.ts";

// Accounts as better-auth keeps them: a `users` row plus a "credential" account (account id = user id) whose
// password is better-auth's scrypt hash. The seed and the admin API create users through here, never by hand.

export type NewUser = {
  email: string;
  name: string;
  role: "admin" | "client";
  tenantId: string | null;
  password: string;
};

/** A random password for accounts an admin creates or resets: 20 URL-safe characters, shown once. */
export function generatePassword(): string {
  return randomBytes(15).toString("base64url");
}

export async function createUserWithPassword(tx: Prisma.TransactionClient, user: NewUser): Promise<{ id: string }> {
  const hash = await hashPassword(user.password);
  const userId = randomUUID();
  await tx.user.create({
    data: {
      id: userId,
      email: user.email,
      name: user.name,
      role: user.role,
      tenantId: user.tenantId,
      emailVerified: true,
    },
  });
  await tx.account.create({
    data: { id: randomUUID(), userId, accountId: userId, providerId: "credential", password: hash },
  });
  return { id: userId };
}

/** Replaces the user's password (creating the credential account if it has none). */
export async function setUserPassword(tx: Prisma.TransactionClient, userId: string, password: string): Promise<void> {
  const hash = await hashPassword(password);
  const updated = await tx.account.updateMany({
    where: { userId, providerId: "credential" },
    data: { password: hash },
  });
  if (updated.count === 0) {
    await tx.account.create({
      data: { id: randomUUID(), userId, accountId: userId, providerId: "credential", password: hash },
    });
  }
}
