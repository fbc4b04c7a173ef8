import type { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "../src/routers/index.ts";
import { sealRecoveryPassphrase } from "../src/services/recovery-key.ts";
import { createCallerFactory } from "../src/trpc.ts";
import {
  callerContext,
  createHarness,
  createJob,
  createTenant,
  enrollAgent,
  type Harness,
  queueRun,
} from "./fixtures.ts";

// The portal's side of an agent-held job's recovery passphrase on PostgreSQL: jobs.recoveryKeys says which jobs have
// one waiting (never the passphrase), jobs.recoveryKey hands it out once, and then the list says when it went.

let harness: Harness;
const callerFor = createCallerFactory(appRouter);
let client: ReturnType<typeof callerFor>;
let tenantId: string;
let agentId: string;

beforeAll(async () => {
  harness = await createHarness("recovery");
  tenantId = (await createTenant(harness.db, "Recovery")).id;
  agentId = (await enrollAgent(harness.deps, tenantId, "recovery-pc")).agentId;
  client = callerFor(
    callerContext(harness, { id: "user-recovery", email: "r@example.com", name: "R", role: "client", tenantId }),
  );
});
afterAll(() => harness.close());

describe("recovery passphrase download", () => {
  it("lists the waiting passphrase without it, hands it out once, then lists when it was downloaded", async () => {
    const job = await createJob(harness, tenantId, agentId, { name: "Private", encryptionMode: "agent" });
    const plain = await createJob(harness, tenantId, agentId, { name: "Managed" });
    expect(await client.jobs.recoveryKeys()).toEqual([]);

    const run = await queueRun(harness.db, job);
    const passphrase = "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2";
    const event = sealRecoveryPassphrase(harness.keyring, {
      seq: 1,
      ts: new Date().toISOString(),
      type: "RECOVERY_KEY_CREATED",
      level: "info",
      data: { keyId: "k1", passphrase },
    });
    await harness.db.runEvent.create({
      data: { runId: run.id, seq: 1, ts: new Date(event.ts), type: event.type, dataJson: event.data as object },
    });

    const waiting = await client.jobs.recoveryKeys();
    expect(waiting).toEqual([{ jobId: job.id, createdAt: expect.any(Date), waiting: true, downloadedAt: null }]);
    expect(JSON.stringify(waiting)).not.toContain(passphrase);
    expect(waiting.map((entry) => entry.jobId)).not.toContain(plain.id);

    const taken = await client.jobs.recoveryKey({ jobId: job.id });
    expect(taken).toMatchObject({ jobId: job.id, keyId: "k1", passphrase });
    const again = await client.jobs.recoveryKey({ jobId: job.id }).catch((e: unknown) => e);
    expect((again as TRPCError).code).toBe("NOT_FOUND");
    expect((again as TRPCError).message).toContain("downloaded already");

    const after = await client.jobs.recoveryKeys();
    expect(after).toEqual([
      { jobId: job.id, createdAt: expect.any(Date), waiting: false, downloadedAt: expect.any(Date) },
    ]);
    expect(after[0]!.downloadedAt!.getTime()).toBeLessThanOrEqual(Date.now());
  });
});
