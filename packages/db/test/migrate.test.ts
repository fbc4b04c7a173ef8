import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { applyMigrations, listMigrations, MigrationError, migrationChecksum } from "../src/migrate.ts";
import { migrationsDir } from "../src/paths.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase("mig");
  cleanups.push(database.drop);
  return database;
}

async function copyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "e3-migrations-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await cp(migrationsDir, dir, { recursive: true });
  return dir;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("applyMigrations", () => {
  it("applies every migration once and records it the way Prisma does", async () => {
    const database = await freshDatabase();
    const migrations = await listMigrations();
    expect(migrations.length).toBeGreaterThan(0);

    const first = await applyMigrations(database.url);
    expect(first.applied).toEqual(migrations.map((m) => m.name));
    const second = await applyMigrations(database.url);
    expect(second).toEqual({ applied: [], alreadyApplied: migrations.map((m) => m.name) });

    const rows = await query<{ migration_name: string; checksum: string; applied_steps_count: number }>(
      database.url,
      `SELECT migration_name, checksum, applied_steps_count FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY migration_name`,
    );
    const expected = await Promise.all(
      migrations.map(async (m) => ({
        migration_name: m.name,
        // Prisma's checksum is the SHA-256 of the migration.sql bytes.
        checksum: migrationChecksum(await readFile(join(migrationsDir, m.name, "migration.sql"), "utf8")),
        applied_steps_count: 1,
      })),
    );
    expect(rows).toEqual(expected);
  });

  it("lets concurrent runners apply each migration exactly once", async () => {
    const database = await freshDatabase();
    const results = await Promise.all([1, 2, 3].map(() => applyMigrations(database.url)));
    const appliedCounts = results.map((r) => r.applied.length).sort();
    const migrations = await listMigrations();
    expect(appliedCounts).toEqual([0, 0, migrations.length]);
    const rows = await query<{ n: string }>(database.url, `SELECT count(*) AS n FROM "_prisma_migrations"`);
    expect(Number(rows[0]?.n)).toBe(migrations.length);
  });

  it("refuses a migration that changed after it was applied, naming it", async () => {
    const database = await freshDatabase();
    const dir = await copyOfMigrations();
    await applyMigrations(database.url, { dir });
    const [first] = await listMigrations(dir);
    await writeFile(join(dir, first!.name, "migration.sql"), `${first!.sql}\n-- edited\n`);
    const failure = await applyMigrations(database.url, { dir }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as MigrationError).code).toBe("MIGRATION_MODIFIED");
    expect((failure as MigrationError).message).toContain(first!.name);
  });

  it("rolls a failing migration back completely and applies the corrected file later", async () => {
    const database = await freshDatabase();
    const dir = await copyOfMigrations();
    await applyMigrations(database.url, { dir });
    const broken = join(dir, "99999999999999_broken");
    await cp(join(dir, (await listMigrations(dir))[0]!.name), broken, { recursive: true });
    await writeFile(join(broken, "migration.sql"), `CREATE TABLE "half_done" (id int);\nSELECT no_such_function();\n`);

    const failure = await applyMigrations(database.url, { dir }).catch((error: unknown) => error);
    expect((failure as MigrationError).code).toBe("MIGRATION_FAILED");
    const tables = await query(database.url, `SELECT 1 FROM pg_tables WHERE tablename = 'half_done'`);
    expect(tables).toHaveLength(0);

    await writeFile(join(broken, "migration.sql"), `CREATE TABLE "half_done" (id int);\n`);
    const retried = await applyMigrations(database.url, { dir });
    expect(retried.applied).toEqual(["99999999999999_broken"]);
  });
});
