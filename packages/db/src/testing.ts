import { randomBytes } from "node:crypto";
import pg from "pg";
import { applyMigrations } from "./migrate.ts";

// For tests of every package: throw-away databases on the real PostgreSQL that scripts/services.sh starts (E3_TEST_DATABASE_URL).

export function testDatabaseServerUrl(): string {
  const url = process.env.E3_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'E3_TEST_DATABASE_URL is not set: start the test services with `bash scripts/services.sh up && eval "$(bash scripts/services.sh env)"`',
    );
  }
  return url;
}

export type TestDatabase = { url: string; name: string; drop: () => Promise<void> };

/** A fresh database with every migration applied. */
export async function createMigratedTestDatabase(label = "t"): Promise<TestDatabase> {
  const database = await createTestDatabase(label);
  await applyMigrations(database.url);
  return database;
}

export async function createTestDatabase(label = "t"): Promise<TestDatabase> {
  const serverUrl = testDatabaseServerUrl();
  const name = `e3_${label}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
