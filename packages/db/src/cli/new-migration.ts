import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { migrationsDir } from "../paths.ts";
import { diffMigrationsToSchema } from "../schema-engine.ts";

// `pnpm db:migration:new <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL that takes
// the existing migrations to schema.prisma. Needs a PostgreSQL server (DATABASE_URL) for the engine's shadow database.
const name = process.argv[2];
const databaseUrl = process.env.DATABASE_URL;
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: pnpm db:migration:new <name>   (lower-case letters, digits and _)");
  process.exit(2);
}
if (!databaseUrl) {
  console.error(
    "db:migration:new needs DATABASE_URL pointing at a PostgreSQL server it may create a shadow database on",
  );
  process.exit(2);
}
const sql = await diffMigrationsToSchema(databaseUrl);
if (!sql) {
  console.log("schema.prisma and prisma/migrations agree; no migration written");
} else {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  const dir = join(migrationsDir, `${stamp}_${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "migration.sql"), `${sql}\n`);
  console.log(`wrote ${join(dir, "migration.sql")}; review it, then run pnpm db:migrate`);
}
