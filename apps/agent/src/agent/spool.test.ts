import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Spool, type SpoolKind } from "./spool.ts";

const root = await mkdtemp(join(tmpdir(), "e3-spool-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let folders = 0;
const folder = () => join(root, `run-${folders++}`);

const ts = "2026-01-01T00:00:00.000Z";
const event = (type: string) => ({ ts, type, level: "info" as const });
const log = (message: string) => ({ ts, level: "info" as const, message });

/** A portal that stores by (kind, seq) like the real one and can be switched off. */
function portal() {
  const stored = { event: new Map<number, unknown>(), log: new Map<number, unknown>() };
  const sent: { kind: SpoolKind; seqs: number[] }[] = [];
  const state = { up: true };
  const receive = (kind: SpoolKind) => async (batch: { seq: number }[]) => {
    if (!state.up) throw new Error("portal unreachable");
    sent.push({ kind, seqs: batch.map((item) => item.seq) });
    for (const item of batch) if (!stored[kind].has(item.seq)) stored[kind].set(item.seq, item);
  };
  return {
    stored,
    sent,
    state,
    send: { event: receive("event"), log: receive("log") },
  };
}

describe("Spool", () => {
  it("numbers events and logs apart and sends each once", async () => {
    const spool = await Spool.open(folder());
    expect(spool.add("event", event("BACKUP_STARTING"))).toBe(1);
    expect(spool.add("log", log("a"))).toBe(1);
    expect(spool.add("log", log("b"))).toBe(2);
    const server = portal();
    await spool.flush(server.send);
    expect(server.sent).toEqual([
      { kind: "event", seqs: [1] },
      { kind: "log", seqs: [1, 2] },
    ]);
    await spool.flush(server.send);
    expect(server.sent).toHaveLength(2);
    expect(spool.pendingCount()).toBe(0);
  });

  it("keeps everything while the portal is down and across a restart, and continues the numbering", async () => {
    const where = folder();
    const server = portal();
    const first = await Spool.open(where);
    first.add("event", event("BACKUP_STARTING"));
    await first.flush(server.send);
    server.state.up = false;
    for (let i = 0; i < 3; i++) first.add("log", log(`line ${i}`));
    first.add("event", event("BACKUP_PROGRESS"));
    await expect(first.flush(server.send)).rejects.toThrow("unreachable");
    expect(first.pendingCount()).toBe(4);

    // The agent dies; a new one opens the same file.
    const second = await Spool.open(where);
    expect(second.pendingCount("event")).toBe(1);
    expect(second.pendingCount("log")).toBe(3);
    expect(second.add("event", event("BACKUP_COMPLETED"))).toBe(3);
    expect(second.add("log", log("after restart"))).toBe(4);
    server.state.up = true;
    await second.flush(server.send);
    expect([...server.stored.event.keys()]).toEqual([1, 2, 3]);
    expect([...server.stored.log.keys()]).toEqual([1, 2, 3, 4]);
    expect(server.sent.flatMap((batch) => batch.seqs)).toEqual([1, 2, 3, 1, 2, 3, 4]);
    expect((await Spool.open(where)).pendingCount()).toBe(0);
  });

  it("survives a last line cut short by a crash", async () => {
    const where = folder();
    const spool = await Spool.open(where);
    spool.add("log", log("whole"));
    await appendFile(spool.file, '{"kind":"log","item":{"seq":2,"ts":"2026');
    const reopened = await Spool.open(where);
    expect(reopened.pendingCount("log")).toBe(1);
    expect(reopened.add("log", log("next"))).toBe(2);
    const lines = (await readFile(spool.file, "utf8")).split("\n");
    expect(JSON.parse(lines.at(-2) ?? "")).toMatchObject({ kind: "log", item: { seq: 2, message: "next" } });
  });

  it("sends in batches within the contract's limits and shares a flush between concurrent callers", async () => {
    const spool = await Spool.open(folder());
    for (let i = 0; i < 1201; i++) spool.add("event", event("BACKUP_PROGRESS"));
    const server = portal();
    await Promise.all([spool.flush(server.send), spool.flush(server.send), spool.flush(server.send)]);
    expect(server.sent.map((batch) => batch.seqs.length)).toEqual([500, 500, 201]);
    expect(server.stored.event.size).toBe(1201);
  });
});
