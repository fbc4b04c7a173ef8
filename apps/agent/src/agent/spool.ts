import { appendFileSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunEventInput, RunLogLineInput } from "@e3/api/agent-contract";
import { z } from "zod";

// A run's events and log lines, kept in an append-only JSON-lines file in the state folder until the portal has
// them. Each item gets the next sequence number of its kind when it is written (events and logs count apart, as
// the portal stores them apart); when a batch is accepted an `ack` line records the highest number sent. A crash or
// an unreachable portal loses nothing: reopening the file gives back what was not acknowledged, and sequence
// numbers continue where they stopped. A batch sent but not yet acknowledged when the agent died is sent again;
// the portal keeps one copy per (run, seq), so nothing is stored twice.

export type SpoolKind = "event" | "log";
type Item<K extends SpoolKind> = K extends "event" ? RunEventInput : RunLogLineInput;

const lineSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("event"), item: z.object({ seq: z.number().int() }).passthrough() }),
  z.object({ kind: z.literal("log"), item: z.object({ seq: z.number().int() }).passthrough() }),
  z.object({ kind: z.literal("ack"), of: z.enum(["event", "log"]), upTo: z.number().int() }),
]);

/** The most items sent in one request: the contract's limits (500 events, 1000 log lines). */
export const batchLimits: Record<SpoolKind, number> = { event: 500, log: 1000 };

/** Delivers one batch of each kind; resolving means the portal accepted it. */
export type SpoolSender = {
  event: (batch: RunEventInput[]) => Promise<void>;
  log: (batch: RunLogLineInput[]) => Promise<void>;
};

type Lane = { next: number; pending: { seq: number }[] };

export class Spool {
  readonly file: string;
  readonly #lanes: Record<SpoolKind, Lane>;
  #flushing: Promise<void> | null = null;

  private constructor(file: string, lanes: Record<SpoolKind, Lane>) {
    this.file = file;
    this.#lanes = lanes;
  }

  /** Opens (or starts) the spool of one run in `folder`. */
  static async open(folder: string): Promise<Spool> {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const file = join(folder, "spool.jsonl");
    const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    const items: Record<SpoolKind, Map<number, { seq: number }>> = { event: new Map(), log: new Map() };
    const acked: Record<SpoolKind, number> = { event: 0, log: 0 };
    const highest: Record<SpoolKind, number> = { event: 0, log: 0 };
    for (const line of text.split("\n")) {
      if (!line) continue;
      // Only a line cut short by a crash fails to parse; what it held was never acknowledged nor numbered for good.
      const parsed = lineSchema.safeParse(safeJson(line));
      if (!parsed.success) continue;
      const entry = parsed.data;
      if (entry.kind === "ack") {
        acked[entry.of] = Math.max(acked[entry.of], entry.upTo);
      } else {
        items[entry.kind].set(entry.item.seq, entry.item);
        highest[entry.kind] = Math.max(highest[entry.kind], entry.item.seq);
      }
    }
    // A crash may have cut the last line; start the next one on a line of its own.
    if (text.length > 0 && !text.endsWith("\n")) appendFileSync(file, "\n");
    const lane = (kind: SpoolKind): Lane => ({
      next: Math.max(highest[kind], acked[kind]) + 1,
      pending: [...items[kind].values()].filter((item) => item.seq > acked[kind]).sort((a, b) => a.seq - b.seq),
    });
    return new Spool(file, { event: lane("event"), log: lane("log") });
  }

  /** Numbers and stores an item; it is on disk when this returns. */
  add<K extends SpoolKind>(kind: K, item: Omit<Item<K>, "seq">): number {
    const lane = this.#lanes[kind];
    const numbered = { ...item, seq: lane.next };
    appendFileSync(this.file, `${JSON.stringify({ kind, item: numbered })}\n`);
    lane.next += 1;
    lane.pending.push(numbered);
    return numbered.seq;
  }

  pendingCount(kind?: SpoolKind): number {
    return kind ? this.#lanes[kind].pending.length : this.#lanes.event.pending.length + this.#lanes.log.pending.length;
  }

  /**
   * Sends everything pending, oldest first, in batches; stops at the first batch that fails (it stays pending and
   * the error is thrown). Concurrent calls share one flush, so a batch is never in flight twice.
   */
  flush(send: SpoolSender): Promise<void> {
    this.#flushing ??= this.#flushAll(send).finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  async #flushAll(send: SpoolSender): Promise<void> {
    for (const kind of ["event", "log"] as const) {
      const lane = this.#lanes[kind];
      while (lane.pending.length > 0) {
        const batch = lane.pending.slice(0, batchLimits[kind]);
        if (kind === "event") await send.event(batch as RunEventInput[]);
        else await send.log(batch as RunLogLineInput[]);
        const upTo = batch[batch.length - 1]?.seq ?? 0;
        appendFileSync(this.file, `${JSON.stringify({ kind: "ack", of: kind, upTo })}\n`);
        lane.pending.splice(0, batch.length);
      }
    }
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
