import { createDatabase } from "../client.ts";
import { resolveDatabase } from "../database-url.ts";
import { applyMigrations } from "../migrate.ts";
import { formatSeedResult, seedDatabase } from "../seed.ts";

// `pnpm db:seed`: migrates, then creates the first admin, tenant, client user and enrollment token (once).
const database = await resolveDatabase();
const db = createDatabase(database.url, { poolSize: 2 });
try {
  await applyMigrations(database.url);
  console.log(
    formatSeedResult(
      await seedDatabase(db, {
        ...(process.env.E3_SEED_ADMIN_PASSWORD ? { adminPassword: process.env.E3_SEED_ADMIN_PASSWORD } : {}),
        ...(process.env.E3_SEED_CLIENT_PASSWORD ? { clientPassword: process.env.E3_SEED_CLIENT_PASSWORD } : {}),
      }),
    ),
  );
} catch (error) {
  console.error(`db:seed failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.$disconnect();
  await database.embedded?.stop();
}
