import { randomBytes, randomUUID } from "node:crypto";
import { hashPassword } from "better-auth/crypto";
import type { Database } from "./client.ts";
import { generateToken, hashToken } from "./tokens.ts";

// The first accounts of a new installation: one provider admin, one tenant with one client user, and one
// enrollment token for that tenant. Secrets are generated, printed once by the caller, and stored only hashed.

export type SeedResult =
  | { created: false }
  | {
      created: true;
      admin: { email: string; password: string };
      client: { email: string; password: string; tenant: string };
      enrollmentToken: { token: string; expiresAt: Date };
    };

export type SeedOptions = {
  adminEmail?: string;
  adminPassword?: string;
  clientEmail?: string;
  clientPassword?: string;
  enrollmentTokenTtlHours?: number;
};

function generatePassword(): string {
  return randomBytes(15).toString("base64url");
}

/** Seeds an empty database; does nothing when any user exists, so it is safe on every start. */
export async function seedDatabase(db: Database, options: SeedOptions = {}): Promise<SeedResult> {
  if ((await db.user.count()) > 0) return { created: false };
  const admin = {
    email: options.adminEmail ?? "admin@e3.local",
    password: options.adminPassword ?? generatePassword(),
  };
  const client = {
    email: options.clientEmail ?? "client@e3.local",
    password: options.clientPassword ?? generatePassword(),
    tenant: "Demo Client",
  };
  const token = generateToken("e3enr");
  const expiresAt = new Date(Date.now() + (options.enrollmentTokenTtlHours ?? 72) * 3_600_000);
  const [adminHash, clientHash] = await Promise.all([hashPassword(admin.password), hashPassword(client.password)]);

  await db.$transaction(async (tx) => {
    const tenant = await tx.tenant.create({ data: { name: client.tenant, slug: "demo-client" } });
    for (const user of [
      { email: admin.email, name: "Provider Admin", role: "admin" as const, tenantId: null, hash: adminHash },
      { email: client.email, name: "Demo Client", role: "client" as const, tenantId: tenant.id, hash: clientHash },
    ]) {
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
      // better-auth's credential account: provider "credential", account id = user id, password = its scrypt hash.
      await tx.account.create({
        data: { id: randomUUID(), userId, accountId: userId, providerId: "credential", password: user.hash },
      });
    }
    await tx.enrollmentToken.create({
      data: { tenantId: tenant.id, tokenHash: hashToken(token), label: "seed", expiresAt },
    });
  });
  return { created: true, admin, client, enrollmentToken: { token, expiresAt } };
}

export function formatSeedResult(result: SeedResult): string {
  if (!result.created) return "seed: users exist already; nothing was created";
  return [
    "seed: created the first accounts. These secrets are shown once; store them now.",
    `  admin          ${result.admin.email} / ${result.admin.password}`,
    `  client         ${result.client.email} / ${result.client.password}  (tenant "${result.client.tenant}")`,
    `  enrollment     ${result.enrollmentToken.token}  (expires ${result.enrollmentToken.expiresAt.toISOString()})`,
  ].join("\n");
}
