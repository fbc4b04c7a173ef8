import type { Database } from "./client.ts";
import { generateToken, hashToken } from "./tokens.ts";
import { createUserWithPassword, generatePassword } from "./users.ts";

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

  await db.$transaction(async (tx) => {
    const tenant = await tx.tenant.create({ data: { name: client.tenant, slug: "demo-client" } });
    await createUserWithPassword(tx, { ...admin, name: "Provider Admin", role: "admin", tenantId: null });
    await createUserWithPassword(tx, {
      email: client.email,
      password: client.password,
      name: "Demo Client",
      role: "client",
      tenantId: tenant.id,
    });
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
