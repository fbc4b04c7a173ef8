import type { Database } from "./client.ts";

export type DatabaseHealth =
  | { ok: true; latencyMs: number; serverVersion: string }
  | { ok: false; latencyMs: number; error: string };

export async function checkDatabaseHealth(db: Database): Promise<DatabaseHealth> {
  const started = performance.now();
  try {
    const rows = await db.$queryRaw<{ version: string }[]>`SELECT current_setting('server_version') AS version`;
    return { ok: true, latencyMs: performance.now() - started, serverVersion: rows[0]?.version ?? "unknown" };
  } catch (error) {
    return { ok: false, latencyMs: performance.now() - started, error: (error as Error).message };
  }
}
