import { EventEmitter, on } from "node:events";
import type { Database, Prisma } from "@e3/db";
import pg from "pg";

// Live run updates across portal instances: whoever changes a run (an agent's report, a cancel, the watchdog) sends
// pg_notify('e3_run_updates', run id) inside its transaction; every portal process LISTENs on one connection and fans
// the ids out to its subscribers. A slow poll backs this up, so a missed notification (or a database without
// LISTEN/NOTIFY across connections, like the embedded one) delays an update but never loses it.

export const runUpdatesChannel = "e3_run_updates";

export async function announceRunUpdate(db: Database | Prisma.TransactionClient, runId: string): Promise<void> {
  await db.$executeRaw`SELECT pg_notify(${runUpdatesChannel}, ${runId})`;
}

export class RunUpdates {
  readonly #databaseUrl: string;
  readonly #pollMs: number;
  readonly #emitter = new EventEmitter();
  #listener: Promise<pg.Client> | null = null;

  constructor(databaseUrl: string, options: { pollMs?: number } = {}) {
    this.#databaseUrl = databaseUrl;
    this.#pollMs = options.pollMs ?? 2000;
    this.#emitter.setMaxListeners(0);
  }

  #listen(): Promise<pg.Client> {
    this.#listener ??= (async () => {
      const client = new pg.Client({ connectionString: this.#databaseUrl });
      client.on("notification", (message) => {
        if (message.channel === runUpdatesChannel && message.payload) this.#emitter.emit(message.payload);
      });
      client.on("error", () => {
        // Reconnect on the next subscription; the poll keeps subscribers updated meanwhile.
        this.#listener = null;
      });
      await client.connect();
      await client.query(`LISTEN ${runUpdatesChannel}`);
      return client;
    })().catch((error: unknown) => {
      this.#listener = null;
      throw error;
    });
    return this.#listener;
  }

  /**
   * Wakes the caller now, on every notification for `runId`, and at least every poll interval, until `signal`
   * aborts. The caller compares what it reads, so spurious wake-ups cost one query.
   */
  async *changes(runId: string, signal: AbortSignal): AsyncGenerator<void> {
    await this.#listen().catch(() => null);
    const wake = new AbortController();
    const stop = () => wake.abort();
    signal.addEventListener("abort", stop, { once: true });
    const notifications = on(this.#emitter, runId, { signal: wake.signal });
    try {
      yield;
      // One outstanding read of the notification stream at a time; a poll tick does not start another.
      let pending = notifications.next().then(
        () => "notified" as const,
        () => "closed" as const,
      );
      while (!signal.aborted) {
        const timeout = new Promise<"poll">((resolve) => setTimeout(resolve, this.#pollMs, "poll").unref());
        const woken = await Promise.race([pending, timeout]);
        if (signal.aborted || woken === "closed") return;
        if (woken === "notified")
          pending = notifications.next().then(
            () => "notified" as const,
            () => "closed" as const,
          );
        yield;
      }
    } finally {
      signal.removeEventListener("abort", stop);
      wake.abort();
    }
  }

  async close(): Promise<void> {
    const listener = this.#listener;
    this.#listener = null;
    if (listener) await (await listener.catch(() => null))?.end();
  }
}
