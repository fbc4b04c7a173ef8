import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { migrationsDir } from "./paths.ts";

// Applies prisma/migrations/<name>/migration.sql in name order, each in its own transaction, and records it in
// _prisma_migrations exactly as `prisma migrate deploy` does (same table, SHA-256 checksum of the file, applied steps
// count), so `prisma migrate status` agrees wherever Prisma's native engine exists.

export type Migration = { name: string; sql: string; checksum: string };
export type MigrationResult = { applied: string[]; alreadyApplied: string[] };

/** Prisma's advisory lock key for migrations; holding the same one keeps us and `prisma migrate` from racing. */
const prismaMigrateLockKey = 72707369;

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  readonly code: "MIGRATION_FAILED" | "MIGRATION_MODIFIED" | "MIGRATION_MISSING" | "MIGRATION_FAILED_BEFORE";
  constructor(code: MigrationError["code"], message: string) {
    super(message);
    this.name = "MigrationError";
    this.code = code;
  }
}

export function migrationChecksum(sql: string): string {
  return createHash("sha256").update(sql).digest("hex");
}

export async function listMigrations(dir = migrationsDir): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: migrationChecksum(sql) };
    }),
  );
}

type AppliedRow = { migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null };

/**
 * Brings the database at `databaseUrl` up to date. Safe to run from several processes at once (advisory lock).
 * Refuses to continue when an applied migration's file changed or a migration failed half-way earlier, naming it.
 */
export async function applyMigrations(
  databaseUrl: string,
  options: { dir?: string; log?: (line: string) => void } = {},
): Promise<MigrationResult> {
  const log = options.log ?? (() => {});
  const migrations = await listMigrations(options.dir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [prismaMigrateLockKey]);
    try {
      await client.query(createMigrationsTable);
      const { rows } = await client.query<AppliedRow>(
        `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
      );
      const applied = new Map(rows.filter((row) => row.rolled_back_at === null).map((r) => [r.migration_name, r]));
      checkHistory(migrations, applied);
      const result: MigrationResult = { applied: [], alreadyApplied: [] };
      for (const migration of migrations) {
        if (applied.get(migration.name)?.finished_at) {
          result.alreadyApplied.push(migration.name);
          continue;
        }
        log(`applying migration ${migration.name}`);
        await applyOne(client, migration);
        result.applied.push(migration.name);
      }
      return result;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [prismaMigrateLockKey]);
    }
  } finally {
    await client.end();
  }
}

function checkHistory(migrations: Migration[], applied: Map<string, AppliedRow>) {
  const known = new Map(migrations.map((migration) => [migration.name, migration]));
  for (const row of applied.values()) {
    const migration = known.get(row.migration_name);
    if (!migration) {
      throw new MigrationError(
        "MIGRATION_MISSING",
        `migration ${row.migration_name} is applied to the database but missing from prisma/migrations; restore it from git`,
      );
    }
    if (row.finished_at === null) {
      throw new MigrationError(
        "MIGRATION_FAILED_BEFORE",
        `migration ${row.migration_name} failed in an earlier attempt; fix the database, then mark it rolled back in _prisma_migrations`,
      );
    }
    if (row.checksum !== migration.checksum) {
      throw new MigrationError(
        "MIGRATION_MODIFIED",
        `migration ${row.migration_name} was changed after it was applied; revert the file and add a new migration instead`,
      );
    }
  }
}

async function applyOne(client: pg.Client, migration: Migration) {
  const id = randomUUID();
  // Like Prisma: the bookkeeping row is written first, outside the migration's transaction, so a failure stays
  // recorded with its logs. Unlike Prisma's CLI the migration itself is all-or-nothing, so a failed one is marked
  // rolled back and a corrected file applies on the next run.
  await client.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ($1, $2, $3)`, [
    id,
    migration.checksum,
    migration.name,
  ]);
  try {
    await client.query("BEGIN");
    await client.query(migration.sql);
    await client.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [
      id,
    ]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    const message = error instanceof Error ? error.message : String(error);
    await client.query(`UPDATE "_prisma_migrations" SET logs = $2, rolled_back_at = now() WHERE id = $1`, [
      id,
      message,
    ]);
    throw new MigrationError("MIGRATION_FAILED", `migration ${migration.name} failed and was rolled back: ${message}`);
  }
}
