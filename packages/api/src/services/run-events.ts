import type { Database, Prisma } from "@e3/db";

type Db = Database | Prisma.TransactionClient;

/**
 * Records an event the server itself raises on a run (missed schedule, watchdog). Agents number their events
 * 1, 2, 3…; the server counts down from -1, so both share the (run_id, seq) key without coordinating.
 */
export async function appendServerEvent(
  db: Db,
  runId: string,
  event: { type: string; level: "info" | "warn" | "error"; message: string; data?: Record<string, unknown> },
): Promise<void> {
  const data = JSON.stringify(event.data ?? {});
  await db.$executeRaw`
    INSERT INTO run_events (run_id, seq, ts, type, level, message, data_json)
    SELECT ${runId}::uuid, LEAST(COALESCE(MIN(seq), 0), 0) - 1, now(), ${event.type}, ${event.level}::"LogLevel",
           ${event.message}, ${data}::jsonb
    FROM run_events WHERE run_id = ${runId}::uuid
    ON CONFLICT (run_id, seq) DO NOTHING`;
}
