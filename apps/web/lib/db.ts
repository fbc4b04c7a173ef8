import { createDatabase, type Database } from "@e3/db";

// One Prisma client per server process, reused across requests (and across hot reloads in development).
const globalForDb = globalThis as unknown as { e3Database?: Database };

export function getDatabase(): Database {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set; start the portal with `npm start` or set it to a PostgreSQL URL");
  const poolSize = Number(process.env.DATABASE_POOL_SIZE ?? 10);
  globalForDb.e3Database ??= createDatabase(url, { poolSize });
  return globalForDb.e3Database;
}
