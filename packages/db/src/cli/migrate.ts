import { resolveDatabase } from "../database-url.ts";
import { applyMigrations } from "../migrate.ts";

// `pnpm db:migrate`: DATABASE_URL's PostgreSQL, or the embedded database when it is unset.
const database = await resolveDatabase();
try {
  const result = await applyMigrations(database.url, { log: (line) => console.log(line) });
  console.log(
    `migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied` +
      (database.embedded ? ` (embedded database in ${database.embedded.dataDir})` : ""),
  );
} catch (error) {
  console.error(`db:migrate failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await database.embedded?.stop();
}
