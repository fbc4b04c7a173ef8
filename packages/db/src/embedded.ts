import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { defaultDataDir } from "./paths.ts";

// The embedded database: PGlite (PostgreSQL compiled to WebAssembly) persisted in a git-ignored folder and served
// over the PostgreSQL wire protocol on loopback, so the portal, the worker and Prisma's pg adapter reach it exactly
// as they reach a real PostgreSQL. PGlite is single-connection; the socket server multiplexes client connections.

export type EmbeddedDatabase = { url: string; dataDir: string; stop: () => Promise<void> };

export async function startEmbeddedDatabase(
  options: { dataDir?: string; port?: number; maxConnections?: number } = {},
): Promise<EmbeddedDatabase> {
  const dataDir = options.dataDir ?? join(defaultDataDir, "pglite");
  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 32,
  });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgresql://postgres:postgres@${address}/postgres?sslmode=disable`,
    dataDir,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
