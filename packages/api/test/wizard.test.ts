import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { planRetention } from "@e3/engine/retention";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3TestBuckets, testBackend } from "../../engine/test/storage-s3-env.ts";
import { appRouter } from "../src/routers/index.ts";
import { sealSecret } from "../src/secrets/envelope.ts";
import { endpointOrigin } from "../src/services/endpoint-guard.ts";
import { engineRetentionPolicy } from "../src/services/job-schemas.ts";
import { writeSetting } from "../src/services/settings.ts";
import { createCallerFactory } from "../src/trpc.ts";
import { createHarness, createJob, createTenant, enrollAgent, type Harness } from "./fixtures.ts";

// The job wizard's server side: Test connection, the bucket picker and "create bucket" against the real S3 server
// (versitygw from scripts/services.sh), and the retention preview over a job's snapshot catalog.

const buckets = s3TestBuckets(afterAll);
const s3 = buckets.env;
/** The test's own view of the server, to check what the procedures did. */
const admin = testBackend(s3, { bucket: "unused" }).client;

let harness: Harness;
let tenantId: string;
let agentId: string;
const callerFor = createCallerFactory(appRouter);
let client: ReturnType<typeof callerFor>;

beforeAll(async () => {
  harness = await createHarness("wizard");
  tenantId = (await createTenant(harness.db, "Wizard")).id;
  agentId = (await enrollAgent(harness.deps, tenantId, "wizard-pc")).agentId;
  client = callerFor({
    db: harness.db,
    keyring: harness.keyring,
    // As the test services' environment sets E3_ALLOWED_S3_ENDPOINTS: the S3 server on loopback is the provider's.
    config: { ...harness.deps.config, E3_ALLOWED_S3_ENDPOINTS: [endpointOrigin(s3.endpoint)!] },
    user: { id: "u-wizard", email: "w@example.com", name: "W", role: "client", tenantId },
    impersonatedBy: null,
    ip: null,
    live: null,
  });
});
afterAll(async () => {
  admin.destroy();
  await harness.close();
});

const keys = () => ({
  endpoint: s3.endpoint,
  region: s3.region,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
});

describe("destinations (S3 from the wizard)", () => {
  it("creates a bucket, lists it, and tests the connection before and after a repository exists", async () => {
    const bucket = buckets.bucket("wizard-create");
    const missing = await client.destinations.test({ ...keys(), bucket });
    expect(missing).toMatchObject({ ok: true, bucketExists: false, repositoryExists: false });

    expect(await client.destinations.createBucket({ ...keys(), bucket })).toEqual({ created: true, bucket });
    await admin.send(new HeadBucketCommand({ Bucket: bucket }));
    // Creating it again is not an error: the bucket is there and it is ours.
    expect(await client.destinations.createBucket({ ...keys(), bucket })).toEqual({ created: false, bucket });
    const listed = await client.destinations.buckets(keys());
    expect(listed.map((entry) => entry.name)).toContain(bucket);

    const empty = await client.destinations.test({ ...keys(), bucket, prefix: "pc" });
    expect(empty).toMatchObject({ ok: true, bucketExists: true, repositoryExists: false });
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: "pc/config", Body: "x" }));
    const existing = await client.destinations.test({ ...keys(), bucket, prefix: "pc/" });
    expect(existing).toMatchObject({ ok: true, bucketExists: true, repositoryExists: true });
    expect(existing.ok && existing.message).toContain("will be reused");
    await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: "pc/config" }));
  });

  it("says which part is wrong: the secret, the endpoint, or the bucket name", async () => {
    const wrongSecret = await client.destinations.test({
      ...keys(),
      secretAccessKey: "not-the-secret",
      bucket: "e3-any",
    });
    expect(wrongSecret).toMatchObject({ ok: false, code: "S3_BAD_CREDENTIALS" });
    expect(JSON.stringify(wrongSecret)).not.toContain("not-the-secret");

    const unreachable = await client.destinations.test({
      ...keys(),
      endpoint: "http://e3-no-such-host.invalid:9000",
      bucket: "e3-any",
    });
    expect(unreachable).toMatchObject({ ok: false, code: "S3_UNREACHABLE" });
    expect(unreachable.ok === false && unreachable.message).toContain("http://e3-no-such-host.invalid:9000");

    const error = await client.destinations
      .createBucket({ ...keys(), bucket: "Not_A_Bucket" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).message).toContain("must be a valid S3 bucket name");

    const listWrong = await client.destinations
      .buckets({ ...keys(), secretAccessKey: "wrong" })
      .catch((e: unknown) => e);
    expect((listWrong as TRPCError).message).toBe("the access key id or the secret access key is wrong");

    const noKeys = await client.destinations.buckets({ endpoint: s3.endpoint }).catch((e: unknown) => e);
    expect((noKeys as TRPCError).message).toContain("enter the access key id");
  });

  it("uses an edited job's stored keys when the form leaves them empty", async () => {
    const job = await createJob(harness, tenantId, agentId, {
      destEndpoint: s3.endpoint,
      destAccessKeyEnc: sealSecret(harness.keyring, s3.accessKeyId, "dest_access_key_enc"),
      destSecretKeyEnc: sealSecret(harness.keyring, s3.secretAccessKey, "dest_secret_key_enc"),
    });
    const listed = await client.destinations.buckets({ jobId: job.id });
    expect(Array.isArray(listed)).toBe(true);
    const bucket = buckets.bucket("wizard-stored");
    expect(await client.destinations.createBucket({ jobId: job.id, bucket })).toEqual({ created: true, bucket });
  });
});

describe("destinations refuse private addresses (SSRF)", () => {
  // The same S3 server under another name (localhost) and another loopback port: reachable, but not allowed.
  const viaLocalhost = () => s3.endpoint.replace("127.0.0.1", "localhost");

  it("refuses loopback, private and link-local endpoints in all three procedures, naming the endpoint", async () => {
    const refusedTest = await client.destinations.test({ ...keys(), endpoint: viaLocalhost(), bucket: "e3-any" });
    expect(refusedTest).toMatchObject({ ok: false, code: "S3_ENDPOINT_REFUSED" });
    expect(refusedTest.ok === false && refusedTest.message).toContain(`the S3 endpoint ${viaLocalhost()} resolves to`);

    for (const endpoint of [viaLocalhost(), "http://127.0.0.1:5432", "http://169.254.169.254", "http://[::1]:19000"]) {
      const listed = await client.destinations.buckets({ ...keys(), endpoint }).catch((e: unknown) => e);
      expect(listed, endpoint).toBeInstanceOf(TRPCError);
      expect((listed as TRPCError).code).toBe("BAD_REQUEST");
      expect((listed as TRPCError).message).toContain(`the S3 endpoint ${endpoint}`);
    }
    const bucket = `e3-ssrf-refused-${Date.now().toString(36)}`; // never created, so not in the cleanup list
    const created = await client.destinations
      .createBucket({ ...keys(), endpoint: viaLocalhost(), bucket })
      .catch((e: unknown) => e);
    expect((created as TRPCError).message).toContain("loopback, private or link-local");
    // Refused before any request: the bucket was not created on the server behind the refused name.
    await expect(admin.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toThrow();
  });

  it("refuses a stored job's private endpoint too", async () => {
    const job = await createJob(harness, tenantId, agentId, {
      destEndpoint: viaLocalhost(),
      destAccessKeyEnc: sealSecret(harness.keyring, s3.accessKeyId, "dest_access_key_enc"),
      destSecretKeyEnc: sealSecret(harness.keyring, s3.secretAccessKey, "dest_secret_key_enc"),
    });
    const error = await client.destinations.buckets({ jobId: job.id }).catch((e: unknown) => e);
    expect((error as TRPCError).message).toContain(`the S3 endpoint ${viaLocalhost()}`);
  });

  it("reaches a private endpoint that the admin configured as the agent S3 endpoint", async () => {
    await writeSetting(harness.db, "agent_s3_endpoint", viaLocalhost());
    try {
      const listed = await client.destinations.buckets({ ...keys(), endpoint: undefined });
      expect(Array.isArray(listed)).toBe(true);
      const bucket = buckets.bucket("ssrf-admin");
      expect(await client.destinations.createBucket({ ...keys(), endpoint: viaLocalhost(), bucket })).toEqual({
        created: true,
        bucket,
      });
      await admin.send(new HeadBucketCommand({ Bucket: bucket }));
    } finally {
      await harness.db.setting.delete({ where: { key: "agent_s3_endpoint" } });
    }
  });
});

describe("snapshots.previewRetention", () => {
  it("keeps and removes the catalog's snapshots exactly as the engine's plan says, with restic's reasons", async () => {
    const job = await createJob(harness, tenantId, agentId, { name: "Retention" });
    // Ten daily snapshots at 02:00 UTC, newest yesterday, plus a forgotten one that must not appear.
    const day = 86_400_000;
    const base = Date.UTC(2026, 10, 20, 2);
    for (let i = 0; i < 10; i++) {
      await harness.db.snapshot.create({
        data: {
          tenantId,
          jobId: job.id,
          snapshotId: i.toString(16).padStart(64, "a"),
          time: new Date(base + i * day),
          hostname: "pc",
          paths: ["/home"],
          tags: [],
          sizeBytes: BigInt(1000 * (i + 1)),
          fileCount: BigInt(10 + i),
        },
      });
    }
    await harness.db.snapshot.create({
      data: {
        tenantId,
        jobId: job.id,
        snapshotId: "f".repeat(64),
        time: new Date(base - 5 * day),
        hostname: "pc",
        paths: ["/home"],
        tags: [],
        forgottenAt: new Date(),
      },
    });
    const preview = await client.snapshots.previewRetention({
      jobId: job.id,
      retention: { keepLast: 2, keepWeekly: 2 },
    });
    expect(preview.simulated).toBe(false);
    expect(preview.snapshots).toHaveLength(10);
    expect(preview.description).toBe("keep 2 latest, 2 weekly snapshots");
    const kept = preview.snapshots.filter((snapshot) => snapshot.keep);
    // Newest first: 11-29 and 11-28 are the last two; 11-29 (Sunday) closes ISO week 48, 11-22 closes week 47.
    expect(kept.map((snapshot) => snapshot.time.toISOString().slice(0, 10))).toEqual([
      "2026-11-29",
      "2026-11-28",
      "2026-11-22",
    ]);
    expect(kept[0]!.reasons).toEqual(["last snapshot", "weekly snapshot"]);
    expect(kept[2]!.reasons).toEqual(["weekly snapshot"]);
    expect(preview).toMatchObject({ keep: 3, remove: 7, emptiedGroups: 0 });
    expect(preview.snapshots[0]).toMatchObject({ sizeBytes: 10_000, fileCount: 19 });

    // Weeks, which restic's durations lack, are days: 1w keeps the last seven days' snapshots.
    const within = await client.snapshots.previewRetention({ jobId: job.id, retention: { keepWithin: "1w" } });
    expect(within.keep).toBe(7);
    expect(within.snapshots[0]!.reasons).toEqual(["within 7d"]);
  });

  it("counts days in the job's schedule zone, as the agent's forget does, not in UTC", async () => {
    const job = await createJob(harness, tenantId, agentId, { name: "Berlin days" });
    await harness.db.job.update({
      where: { id: job.id },
      data: { scheduleJson: { kind: "cron", cron: "30 0 * * *", timezone: "Europe/Berlin", randomDelaySeconds: 0 } },
    });
    // 23:30 UTC is 00:30 the next day in Berlin, where the agent stamped these "+01:00".
    const agentStamped = ["2026-11-24T11:00:00+01:00", "2026-11-24T00:30:00+01:00", "2026-11-23T23:30:00+01:00"];
    for (const [index, time] of agentStamped.entries()) {
      await harness.db.snapshot.create({
        data: {
          tenantId,
          jobId: job.id,
          snapshotId: index.toString(16).padStart(64, "b"),
          time: new Date(time),
          hostname: "pc",
          paths: ["/home"],
          tags: [],
        },
      });
    }
    const retention = { keepDaily: 2 };
    const preview = await client.snapshots.previewRetention({ jobId: job.id, retention, timeZone: "UTC" });
    expect(preview.timeZone).toBe("Europe/Berlin");
    const engine = planRetention(
      agentStamped.map((time, index) => ({
        id: index.toString(16).padStart(64, "b"),
        time,
        hostname: "pc",
        paths: ["/home"],
      })),
      engineRetentionPolicy(retention),
    );
    const removed = engine.remove.map((snapshot) => snapshot.id);
    expect(removed).toEqual(["1".padStart(64, "b")]);
    expect(preview.snapshots.filter((snapshot) => !snapshot.keep).map((snapshot) => snapshot.snapshotId)).toEqual(
      removed,
    );
    // The edited schedule's zone wins over the stored one; UTC days would drop the 23:30 Berlin snapshot instead.
    const utc = await client.snapshots.previewRetention({
      jobId: job.id,
      retention,
      schedule: { kind: "cron", cron: "30 0 * * *", timezone: "UTC" },
    });
    expect(utc.snapshots.filter((snapshot) => !snapshot.keep).map((snapshot) => snapshot.snapshotId)).toEqual([
      "2".padStart(64, "b"),
    ]);
    // A schedule without a zone (interval) falls back to the browser's.
    const interval = await client.snapshots.previewRetention({
      jobId: job.id,
      retention,
      schedule: { kind: "interval", everySeconds: 3600 },
      timeZone: "Europe/Berlin",
    });
    expect(interval.timeZone).toBe("Europe/Berlin");
    expect(interval.remove).toBe(1);
    expect(interval.snapshots.find((snapshot) => !snapshot.keep)?.snapshotId).toBe("1".padStart(64, "b"));
    const badZone = await client.snapshots
      .previewRetention({ jobId: job.id, retention, timeZone: "Mars/Olympus" })
      .catch((e: unknown) => e);
    expect(badZone).toBeInstanceOf(TRPCError);
  });

  it("simulates a year of a new job's schedule, and refuses a policy without a keep rule", async () => {
    const smart = await client.snapshots.previewRetention({
      retention: { keepWithinDaily: "7d", keepWithinWeekly: "4w", keepWithinMonthly: "1y" },
      schedule: { kind: "cron", cron: "0 2 * * *", timezone: "Europe/Berlin" },
    });
    expect(smart.simulated).toBe(true);
    expect(smart.snapshots.length).toBeGreaterThanOrEqual(364);
    // 7 daily + ~4 weekly + ~12 monthly, overlapping: far fewer than a year of dailies.
    expect(smart.keep).toBeGreaterThan(15);
    expect(smart.keep).toBeLessThan(26);

    const error = await client.snapshots.previewRetention({ retention: { keepLast: 0 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).message).toContain("keep at least something");
  });
});
