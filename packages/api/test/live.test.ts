import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunUpdates } from "../src/live/run-updates.ts";
import { appRouter } from "../src/routers/index.ts";
import { createCallerFactory } from "../src/trpc.ts";
import {
  callAgentApi,
  createHarness,
  createJob,
  createTenant,
  enrollAgent,
  type Harness,
  queueRun,
} from "./fixtures.ts";

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness("live");
});
afterAll(() => harness.close());

type Snapshot = { run: { status: string; progressJson: unknown }; events: { type: string }[] };

describe("runs.live", () => {
  it("streams the run's state as the agent reports, and ends with the run", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const job = await createJob(harness, tenant.id, agent.agentId);
    const run = await queueRun(harness.db, job);
    await callAgentApi(harness.deps, "next_run", {}, agent);

    // With a 60 s poll, only LISTEN/NOTIFY can deliver these updates within the test's seconds.
    const live = new RunUpdates(harness.database.url, { pollMs: 60_000 });
    const caller = createCallerFactory(appRouter)({
      db: harness.db,
      keyring: harness.keyring,
      config: harness.deps.config,
      user: { id: "u", email: "u@x.test", name: "U", role: "client", tenantId: tenant.id },
      impersonatedBy: null,
      ip: null,
      live,
    });
    const stream = (await caller.runs.live({ runId: run.id })) as AsyncIterable<Snapshot>;
    const received: Snapshot[] = [];
    const started = Date.now();
    const reader = (async () => {
      for await (const snapshot of stream) received.push(snapshot);
    })();

    const waitFor = async (predicate: () => boolean) => {
      for (let i = 0; i < 100 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(predicate()).toBe(true);
    };
    await waitFor(() => received.length === 1);
    expect(received[0]!.run.status).toBe("starting");

    await callAgentApi(
      harness.deps,
      "update_run",
      { runId: run.id, status: "running", progress: { phase: "uploading", filesDone: 3 } },
      agent,
    );
    await waitFor(() => received.at(-1)?.run.status === "running");
    expect(received.at(-1)!.run.progressJson).toEqual({ phase: "uploading", filesDone: 3 });

    await callAgentApi(
      harness.deps,
      "push_events",
      { runId: run.id, events: [{ seq: 1, ts: new Date().toISOString(), type: "BACKUP_PROGRESS" }] },
      agent,
    );
    await waitFor(() => received.at(-1)?.events.some((event) => event.type === "BACKUP_PROGRESS") ?? false);

    await callAgentApi(harness.deps, "update_run", { runId: run.id, status: "success" }, agent);
    await reader;
    expect(received.at(-1)!.run.status).toBe("success");
    expect(Date.now() - started).toBeLessThan(30_000);
    await live.close();
  });
});
