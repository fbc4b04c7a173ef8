import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase } from "../src/client.ts";
import { resolveDatabase } from "../src/database-url.ts";
import { checkDatabaseHealth } from "../src/health.ts";
import { applyMigrations } from "../src/migrate.ts";
import { diffDatabaseToSchema } from "../src/schema-engine.ts";
import { seedDatabase } from "../src/seed.ts";
import { hashToken } from "../src/tokens.ts";

// The embedded database must behave like PostgreSQL for everything we do: migrations, Prisma through the pg
// adapter, several connections at once, and data that survives a restart.

const dataDir = await mkdtemp(join(tmpdir(), "e3-embedded-"));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe("embedded database (PGlite over the PostgreSQL wire protocol)", () => {
  it("is used when DATABASE_URL is unset, migrates to the schema, and keeps data across restarts", async () => {
    const env = { E3_DATA_DIR: dataDir };
    const first = await resolveDatabase(env);
    expect(first.embedded).not.toBeNull();
    let seededToken: string;
    try {
      await applyMigrations(first.url);
      expect(await diffDatabaseToSchema(first.url)).toBe("");
      const db = createDatabase(first.url, { poolSize: 4 });
      try {
        const health = await checkDatabaseHealth(db);
        expect(health.ok).toBe(true);
        const seeded = await seedDatabase(db, { adminPassword: "correct horse battery staple" });
        if (!seeded.created) throw new Error("expected the first seed to create accounts");
        seededToken = seeded.enrollmentToken.token;
        // Concurrent queries through several pooled connections are multiplexed onto one PGlite instance.
        const counts = await Promise.all([
          db.user.count(),
          db.tenant.count(),
          db.enrollmentToken.count(),
          db.job.count(),
        ]);
        expect(counts).toEqual([2, 1, 1, 0]);
      } finally {
        await db.$disconnect();
      }
    } finally {
      await first.embedded?.stop();
    }

    const second = await resolveDatabase(env);
    try {
      const db = createDatabase(second.url, { poolSize: 2 });
      try {
        const token = await db.enrollmentToken.findUnique({ where: { tokenHash: hashToken(seededToken) } });
        expect(token?.label).toBe("seed");
        expect((await seedDatabase(db)).created).toBe(false);
        expect((await applyMigrations(second.url)).applied).toEqual([]);
      } finally {
        await db.$disconnect();
      }
    } finally {
      await second.embedded?.stop();
    }
  });

  it("uses DATABASE_URL when it is set, starting nothing", async () => {
    const location = await resolveDatabase({ DATABASE_URL: "postgresql://user@db.example:5432/e3" });
    expect(location).toEqual({ url: "postgresql://user@db.example:5432/e3", embedded: null });
  });
});
