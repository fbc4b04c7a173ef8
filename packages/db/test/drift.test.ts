import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, listMigrations } from "../src/migrate.ts";
import { migrationsDir } from "../src/paths.ts";
import { diffDatabaseToSchema, diffMigrationsToSchema } from "../src/schema-engine.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

// The drift test: a database built only from prisma/migrations must be exactly what schema.prisma describes.
// Prisma's own schema engine (WebAssembly build) reads the live catalog and diffs it against the schema, so every
// table, column type, nullability, default, enum value, index, unique constraint and foreign key is compared.

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

async function migratedDatabase(dir?: string): Promise<string> {
  const database = await createTestDatabase("drift");
  databases.push(database);
  await applyMigrations(database.url, dir ? { dir } : {});
  return database.url;
}

/** Migrates a fresh database from a copy of the migrations whose first file `edit` changed, and diffs it. */
async function diffAfterEditingFirstMigration(edit: (sql: string) => string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "e3-drift-"));
  try {
    await cp(migrationsDir, dir, { recursive: true });
    const [first] = await listMigrations(dir);
    const file = join(dir, first!.name, "migration.sql");
    const sql = await readFile(file, "utf8");
    const edited = edit(sql);
    expect(edited, "the edit must change the migration").not.toBe(sql);
    await writeFile(file, edited);
    return await diffDatabaseToSchema(await migratedDatabase(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("migrations match schema.prisma", () => {
  it("leaves no difference between the migrated database and the schema", async () => {
    const diff = await diffDatabaseToSchema(await migratedDatabase());
    expect(diff, `schema.prisma and prisma/migrations disagree; this SQL would reconcile them:\n${diff}`).toBe("");
  });

  it("agrees when replaying the migrations in a shadow database (what db:migration:new does)", async () => {
    const database = await createTestDatabase("shadow");
    databases.push(database);
    expect(await diffMigrationsToSchema(database.url)).toBe("");
  });

  it("notices a column that a migration forgot (the check can fail)", async () => {
    const diff = await diffAfterEditingFirstMigration((sql) => sql.replace(/^\s*"last_policy_hash" TEXT,\n/m, ""));
    expect(diff).toMatch(/ALTER TABLE "jobs" ADD COLUMN\s+"last_policy_hash" TEXT/);
  });

  it("notices an enum value and an index that a migration forgot", async () => {
    const diff = await diffAfterEditingFirstMigration((sql) =>
      sql
        .replace(`'success', 'warning', 'failed'`, `'success', 'failed'`)
        .replace(/^CREATE INDEX "runs_status_updated_at_idx".*\n/m, ""),
    );
    expect(diff).toContain("warning");
    expect(diff).toContain("runs_status_updated_at_idx");
  });
});
