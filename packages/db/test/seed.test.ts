import { verifyPassword } from "better-auth/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, type Database } from "../src/client.ts";
import { formatSeedResult, seedDatabase } from "../src/seed.ts";
import { createMigratedTestDatabase, type TestDatabase } from "../src/testing.ts";
import { hashToken, tokenMatchesHash } from "../src/tokens.ts";

let database: TestDatabase;
let db: Database;
beforeAll(async () => {
  database = await createMigratedTestDatabase("seed");
  db = createDatabase(database.url, { poolSize: 2 });
});
afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("seedDatabase", () => {
  it("creates an admin, a tenant with a client user and a hashed one-time enrollment token, once", async () => {
    const result = await seedDatabase(db);
    if (!result.created) throw new Error("expected accounts to be created");

    const users = await db.user.findMany({ orderBy: { email: "asc" }, include: { accounts: true } });
    expect(users.map((u) => [u.email, u.role, u.tenantId === null])).toEqual([
      ["admin@e3.local", "admin", true],
      ["client@e3.local", "client", false],
    ]);
    const adminHash = users[0]!.accounts[0]!.password!;
    expect(adminHash).not.toContain(result.admin.password);
    expect(await verifyPassword({ hash: adminHash, password: result.admin.password })).toBe(true);
    expect(await verifyPassword({ hash: adminHash, password: "wrong" })).toBe(false);

    const [token] = await db.enrollmentToken.findMany();
    expect(token!.tokenHash).toBe(hashToken(result.enrollmentToken.token));
    expect(token!.tokenHash).not.toContain(result.enrollmentToken.token);
    expect(tokenMatchesHash(result.enrollmentToken.token, token!.tokenHash)).toBe(true);
    expect(token!.usedAt).toBeNull();
    expect(token!.expiresAt.getTime()).toBeGreaterThan(Date.now());

    const printed = formatSeedResult(result);
    expect(printed).toContain(result.admin.password);
    expect(printed).toContain(result.enrollmentToken.token);

    expect(await seedDatabase(db)).toEqual({ created: false });
    expect(await db.user.count()).toBe(2);
  });
});
