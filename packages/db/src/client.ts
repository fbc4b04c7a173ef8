import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.ts";

export type Database = PrismaClient;

/**
 * A Prisma client on the query compiler and the pg driver adapter, for PostgreSQL and the embedded database alike.
 * `poolSize` bounds this process's connections; the embedded database multiplexes one PGlite instance, so it wants few.
 */
export function createDatabase(databaseUrl: string, options: { poolSize?: number } = {}): Database {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}
