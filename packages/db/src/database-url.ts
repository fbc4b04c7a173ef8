import { type EmbeddedDatabase, startEmbeddedDatabase } from "./embedded.ts";

export type DatabaseLocation = { url: string; embedded: EmbeddedDatabase | null };

/** `DATABASE_URL` when set (a PostgreSQL server); otherwise the embedded database, started in this process. */
export async function resolveDatabase(env: NodeJS.ProcessEnv = process.env): Promise<DatabaseLocation> {
  const url = env.DATABASE_URL?.trim();
  if (url) return { url, embedded: null };
  const embedded = await startEmbeddedDatabase({
    ...(env.E3_DATA_DIR ? { dataDir: `${env.E3_DATA_DIR}/pglite` } : {}),
    ...(env.E3_EMBEDDED_DB_PORT ? { port: Number(env.E3_EMBEDDED_DB_PORT) } : {}),
  });
  return { url: embedded.url, embedded };
}
