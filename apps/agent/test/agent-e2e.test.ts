import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFile, chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { appRouter, keyringFromEnv, openSecret, runTick } from "@e3/api";
import { type BrowseCommandResult, browseCommandResultSchema } from "@e3/api/agent-contract";
import { createDatabase, type Database } from "@e3/db";
import { createTestDatabase } from "@e3/db/testing";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { listFolder } from "../../../packages/engine/test/fs-listing.ts";
import { bucketName, removeBucket, s3TestEnv } from "../../../packages/engine/test/storage-s3-env.ts";
import { portalHarness, type RunningPortal } from "../../../test/portal/portal.ts";
import { repositoryRoot, runAgent, startAgentService } from "./agent-cli.ts";

// The agent end to end with real processes: the production build of the portal on PostgreSQL (test/portal's
// harness), the real S3 server, and `e3-backup-agent enroll` and `run` as child processes. Jobs, restores and
// cancels go through the portal's own tRPC routers (as a signed-in client user would call them) on the same
// database; the agent only ever talks HTTP to the portal. The repository the agent writes is checked by restic.

const exec = promisify(execFile);
const s3 = s3TestEnv();
const s3Client = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
});
const dir = await mkdtemp(join(tmpdir(), "e3-agent-e2e-"));
await chmod(dir, 0o755);
const buckets: string[] = [];
afterAll(async () => {
  for (const bucket of buckets) await removeBucket(s3Client, bucket).catch(() => {});
  s3Client.destroy();
  await rm(dir, { recursive: true, force: true });
});

const { startPortal, stopGracefully, cleanups } = portalHarness();
// Agents go first: the portal's graceful stop would otherwise wait for their keep-alive connections.
// (vitest runs after-hooks in reverse order, so this one runs before the harness's.)
const beforePortalStops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of beforePortalStops.splice(0)) await stop();
});

async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type Agent = { child: ChildProcess; output: () => string; exited: Promise<void> };

/** `e3-backup-agent run` in the background; stopped (SIGKILL) after the test if still running. */
function startAgent(env: Record<string, string>): Agent {
  const { child, output } = startAgentService(env);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  beforePortalStops.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, output, exited };
}

/** The worker alone (`pnpm worker`: watchdog, scheduler), ticking every second; stopped after the test. */
function startWorker(env: Record<string, string>) {
  const child = spawn(process.execPath, [join(repositoryRoot, "packages", "api", "src", "worker", "main.ts")], {
    cwd: repositoryRoot,
    env: { ...process.env, ...env, WORKER_TICK_SECONDS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream.on("data", (chunk: Buffer) => {
      output += chunk;
    });
  }
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  beforePortalStops.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  });
  return { output: () => output };
}

type Timings = { grace: number; watchdog: number };

const serversDown = new Set<{ up: () => Promise<void> }>();
afterEach(async () => {
  for (const server of [...serversDown]) await server.up();
});
const defaultTimings: Timings = { grace: 3, watchdog: 300 };

/**
 * The production build on a database of its own, and the tRPC caller's dependencies. `down()` stops the server
 * (scripts/start.ts with the portal and the worker: what an operator's restart or a crash takes away) and `up()`
 * starts it again on the same port and database, where its agents expect it.
 */
async function startPortalOn(label: string, timings: Timings) {
  const database = await createTestDatabase(label);
  const secrets = {
    E3_SECRET_KEY: randomBytes(32).toString("base64"),
    E3_AUTH_SECRET: randomBytes(32).toString("base64"),
  };
  const env = {
    DATABASE_URL: database.url,
    ...secrets,
    AGENT_RECLAIM_GRACE_SECONDS: String(timings.grace),
    AGENT_WATCHDOG_TIMEOUT_SECONDS: String(timings.watchdog),
  };
  let portal: RunningPortal = await startPortal(env, { keep: true });
  const port = Number(new URL(portal.url).port);
  const server = {
    url: portal.url,
    async down() {
      await stopGracefully(portal.child);
      // A case that fails while its server is down must not leave the next cases (the shared portal) without one.
      serversDown.add(server);
    },
    async up() {
      portal = await startPortal(env, { keep: true, port });
      serversDown.delete(server);
    },
  };
  const db: Database = createDatabase(database.url, { poolSize: 2 });
  const stop = async () => {
    await stopGracefully(portal.child);
    await db.$disconnect();
    await database.drop();
  };
  return { portal: server, env, db, keyring: keyringFromEnv(secrets), stop };
}

// One portal serves every case with the default timings (each case enrolls an agent of its own); a case that needs
// other timings gets a portal of its own, stopped after it.
let sharedPortal: ReturnType<typeof startPortalOn> | null = null;
afterAll(async () => {
  await (await sharedPortal?.catch(() => null))?.stop();
});

/** A portal (shared unless the timings differ), a client user's tRPC caller, and an agent enrolled through the CLI. */
async function setup(label: string, timings = defaultTimings) {
  const shared = timings.grace === defaultTimings.grace && timings.watchdog === defaultTimings.watchdog;
  if (shared) sharedPortal ??= startPortalOn("agent", timings);
  const { portal, env, db, keyring, stop } = await (shared
    ? (sharedPortal as ReturnType<typeof startPortalOn>)
    : startPortalOn(label, timings));
  if (!shared) cleanups.push(stop);
  const user = await db.user.findFirstOrThrow({ where: { role: "client" } });
  const portalApi = appRouter.createCaller({
    db,
    keyring,
    config: { AGENT_RECLAIM_GRACE_SECONDS: timings.grace, AGENT_WATCHDOG_TIMEOUT_SECONDS: timings.watchdog },
    user: { id: user.id, email: user.email, name: user.name, role: "client", tenantId: user.tenantId },
    impersonatedBy: null,
    ip: null,
    live: null,
  });

  const home = await mkdtemp(join(dir, `${label}-agent-`));
  const agentEnv = {
    E3_AGENT_CONFIG: join(home, "agent.conf"),
    E3_AGENT_STATE: join(home, "state"),
    E3_AGENT_POLL_SECONDS: "0.5",
  };
  const { token } = await portalApi.agents.createEnrollmentToken({ label: "e2e" });
  const enrolled = await runAgent(["enroll", "--server", portal.url, "--token", token, "--json"], agentEnv);
  expect(enrolled.stderr).toBe("");
  expect(enrolled.status).toBe(0);
  const agentId = (JSON.parse(enrolled.stdout) as { agent_id: string }).agent_id;
  return { db, keyring, portal, env, portalApi, agentEnv, agentId, home };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** A backup job to a bucket of its own, created through the portal; `restic` runs on its repository. */
async function createS3Job({ db, keyring, portalApi, agentId }: Setup, name: string, sourcePaths: string[]) {
  const bucket = bucketName(name);
  buckets.push(bucket);
  const job = await portalApi.jobs.create({
    name,
    agentId,
    engine: "backup",
    sourcePaths,
    destination: {
      type: "s3",
      bucket,
      prefix: "machine-1",
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      bucketAutoCreate: true,
    },
    schedule: { kind: "manual" },
    // 4 MiB packs: an index every 16 MiB, so an interrupted run leaves reusable packs early.
    policy: { packSizeMiB: 4 },
  });
  const jobId = (job as { id: string }).id;
  // The managed repository password, sealed by the portal; only the agent ever gets it in the clear.
  const sealed = (await db.job.findUniqueOrThrow({ where: { id: jobId } })).repoPasswordEnc ?? "";
  const password = openSecret(keyring, sealed, "repo_password_enc");
  const restic = (...args: string[]) =>
    exec("restic", ["--no-cache", "-r", `s3:${s3.endpoint}/${bucket}/machine-1`, ...args], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_DEFAULT_REGION: s3.region,
        RESTIC_PASSWORD: password,
      },
      maxBuffer: 64 * 1024 * 1024,
    });
  /** Objects under one folder of the repository; 0 until the agent has created the bucket. */
  const objects = (folder: string) =>
    s3Client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `machine-1/${folder}/` })).then(
      (listing) => listing.KeyCount ?? 0,
      () => 0,
    );
  return { jobId, bucket, password, restic, objects };
}

async function runOf(db: Database, runId: string) {
  return db.run.findUniqueOrThrow({ where: { id: runId } });
}

async function waitForStatus(db: Database, runId: string, statuses: string[], timeoutMs = 60_000) {
  return waitFor(
    `run ${runId} to become ${statuses.join(" or ")}`,
    async () => {
      const run = await runOf(db, runId);
      return statuses.includes(run.status) ? run : null;
    },
    timeoutMs,
  );
}

/** A browse through the portal's call, waited for and parsed as the portal parses it; `ms` is how long it took. */
async function browseThrough(
  portalApi: Setup["portalApi"],
  input: Parameters<Setup["portalApi"]["commands"]["browse"]>[0],
): Promise<{ result: BrowseCommandResult; ms: number }> {
  const started = Date.now();
  const { commandId } = await portalApi.commands.browse(input);
  const command = await waitFor(`browse command ${commandId}`, async () => {
    const state = await portalApi.commands.get({ commandId });
    return state.status === "completed" || state.status === "failed" ? state : null;
  });
  expect(command, command.errorMessage ?? "").toMatchObject({ status: "completed" });
  return { result: browseCommandResultSchema.parse(command.resultJson), ms: Date.now() - started };
}

async function writeRandomFile(path: string, bytes: number) {
  const chunk = 8 * 1024 * 1024;
  await writeFile(path, "");
  for (let written = 0; written < bytes; written += chunk) {
    await appendFile(path, randomBytes(Math.min(chunk, bytes - written)));
  }
}

/** A sync job (engine=sync) to a local folder or a bucket, created through the portal. */
async function createSyncJob(
  { portalApi, agentId }: Setup,
  name: string,
  sourcePaths: string[],
  destination: { type: "local"; path: string } | { type: "s3"; bucket: string },
  extra: { bandwidthLimitKbps?: number; mode?: "copy" | "sync" } = {},
) {
  const job = await portalApi.jobs.create({
    name,
    agentId,
    engine: "sync",
    sourcePaths,
    destination:
      destination.type === "local"
        ? destination
        : {
            type: "s3",
            bucket: destination.bucket,
            prefix: "mirror",
            endpoint: s3.endpoint,
            region: s3.region,
            accessKeyId: s3.accessKeyId,
            secretAccessKey: s3.secretAccessKey,
            bucketAutoCreate: true,
          },
    schedule: { kind: "manual" },
    policy: { syncMode: extra.mode ?? "sync" },
    ...(extra.bandwidthLimitKbps ? { bandwidthLimitKbps: extra.bandwidthLimitKbps } : {}),
  });
  return (job as { id: string }).id;
}

/** Every sequence number of a run's events and log lines, which must be 1, 2, 3, … each once. */
async function sequences(portalApi: Setup["portalApi"], runId: string) {
  const events = (await portalApi.runs.events({ runId })).map((event) => event.seq);
  const { lines } = await portalApi.runs.logs({ runId });
  return { events, logs: lines.map((line) => line.seq), messages: lines.map((line) => line.message) };
}

/** Contents, modes and sizes exactly; mtimes within a microsecond (a folder destination sets them through utimes). */
function expectSameFiles(actual: Awaited<ReturnType<typeof listFolder>>, expected: typeof actual) {
  const withoutTimes = (entries: typeof actual) => entries.map(({ mtimeNs, ...entry }) => entry);
  expect(withoutTimes(actual)).toEqual(withoutTimes(expected));
  actual.forEach((entry, index) => {
    const drift = (entry.mtimeNs ?? 0n) - (expected[index]?.mtimeNs ?? 0n);
    expect(drift < 0n ? -drift : drift, entry.path).toBeLessThan(1000n);
  });
}

const oneToN = (n: number) => Array.from({ length: n }, (_, index) => index + 1);

describe("e3-backup-agent enroll and run against the portal", () => {
  it("backs up to S3 (restic check passes), restores selected paths exactly, and cancels a run within 10 s", {
    // The first case also waits for the shared portal to start.
    timeout: 240_000,
  }, async () => {
    const context = await setup("agent");
    const { db, portalApi, agentEnv } = context;
    const spareEnv = { ...agentEnv, E3_AGENT_CONFIG: join(context.home, "spare.conf") };
    const conf = await stat(agentEnv.E3_AGENT_CONFIG);
    expect(conf.mode & 0o777).toBe(0o600);
    const identity = await readFile(agentEnv.E3_AGENT_CONFIG, "utf8");

    // A used token and an unreachable portal fail with a message that says what to do, and keep the identity.
    const { token } = await portalApi.agents.createEnrollmentToken({ label: "twice" });
    expect((await runAgent(["enroll", "--server", context.portal.url, "--token", token], spareEnv)).status).toBe(0);
    const reused = await runAgent(["enroll", "--server", context.portal.url, "--token", token], agentEnv);
    expect(reused.status).toBe(1);
    expect(reused.stderr).toContain("already used or expired; create a new one in the portal");
    const unreachable = await runAgent(["enroll", "--server", "http://127.0.0.1:9", "--token", token], agentEnv);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toContain("cannot reach the portal at http://127.0.0.1:9");
    expect(await readFile(agentEnv.E3_AGENT_CONFIG, "utf8")).toBe(identity);
    // Enrolling again with a new token replaces the identity.
    const spareId = () => readFile(spareEnv.E3_AGENT_CONFIG, "utf8").then((text) => JSON.parse(text).agentId);
    const before = await spareId();
    const fresh = await portalApi.agents.createEnrollmentToken({ label: "again" });
    expect((await runAgent(["enroll", "--server", context.portal.url, "--token", fresh.token], spareEnv)).status).toBe(
      0,
    );
    expect(await spareId()).not.toBe(before);
    expect((await stat(spareEnv.E3_AGENT_CONFIG)).mode & 0o777).toBe(0o600);

    const source = join(dir, "documents");
    await mkdir(join(source, "letters", "2026"), { recursive: true });
    await mkdir(join(source, "photos"), { recursive: true });
    await writeFile(join(source, "letters", "2026", "bank.txt"), "dear bank\n");
    await writeFile(join(source, "letters", "a.txt"), randomBytes(300_000));
    await writeFile(join(source, "photos", "p.jpg"), randomBytes(2_000_000));
    await writeFile(join(source, "notes.md"), "# notes\n");
    const documents = await createS3Job(context, "documents", [source]);

    const agent = startAgent(agentEnv);
    const { runId } = await portalApi.jobs.runNow({ jobId: documents.jobId });
    const done = await waitForStatus(db, runId, ["success", "warning", "failed", "cancelled"]);
    expect(done, agent.output()).toMatchObject({ status: "success", errorCode: null });
    expect(done.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    const catalog = await portalApi.snapshots.list({ jobId: documents.jobId });
    expect(catalog.map((snapshot) => snapshot.snapshotId)).toEqual([done.snapshotId]);
    expect(Number(catalog[0]?.fileCount)).toBe(4);
    const events = await portalApi.runs.events({ runId });
    expect(events.map((event) => event.type)).toEqual(["BACKUP_STARTING", "BACKUP_COMPLETED"]);
    expect((await documents.restic("check", "--read-data")).stdout).toContain("no errors were found");
    const snapshots = JSON.parse((await documents.restic("snapshots", "--json")).stdout) as { id: string }[];
    expect(snapshots.map((snapshot) => snapshot.id)).toEqual([done.snapshotId]);

    // Restore one folder of the snapshot to a new place through the portal's restore wizard call.
    const target = join(dir, "restored");
    const restore = await portalApi.restore.start({
      jobId: documents.jobId,
      snapshotId: done.snapshotId ?? "",
      paths: [join(source, "letters")],
      targetPath: target,
      overwrite: "always",
    });
    const restored = await waitForStatus(db, restore.restoreRunId, ["success", "failed", "cancelled"]);
    expect(restored, agent.output()).toMatchObject({ status: "success" });
    // The run's final report goes first, the command's answer right after it.
    const command = await waitFor("the restore command's answer", async () => {
      const state = await portalApi.commands.get({ commandId: restore.commandId });
      return state.status === "running" ? null : state;
    });
    expect(command).toMatchObject({ status: "completed", resultJson: { filesRestored: 2 } });
    // Contents, modes and sizes exactly; times within a microsecond (the engine sets them through utimes' doubles).
    const restoredEntries = await listFolder(join(target, source));
    const sourceEntries = (await listFolder(source)).filter((entry) => entry.path.startsWith("letters"));
    const withoutTimes = (entries: typeof sourceEntries) => entries.map(({ mtimeNs, ...entry }) => entry);
    expect(withoutTimes(restoredEntries)).toEqual(withoutTimes(sourceEntries));
    restoredEntries.forEach((entry, index) => {
      const drift = (entry.mtimeNs ?? 0n) - (sourceEntries[index]?.mtimeNs ?? 0n);
      expect(drift < 0n ? -drift : drift, entry.path).toBeLessThan(1000n);
    });
    const restoreEvents = await portalApi.runs.events({ runId: restore.restoreRunId });
    expect(restoreEvents.map((event) => event.type)).toEqual(["RESTORE_STARTING", "RESTORE_COMPLETED"]);

    // The source picker lists the agent's own folders; the restore wizard a snapshot's folder, a search, versions.
    const picker = await browseThrough(portalApi, { kind: "local", agentId: context.agentId, path: source });
    expect(picker.result).toMatchObject({ kind: "local", path: source, parent: dir, roots: [{ path: "/" }] });
    if (picker.result.kind !== "local") throw new Error("not a local listing");
    expect(picker.result.entries.map((entry) => `${entry.name}:${entry.type}`)).toEqual([
      "letters:dir",
      "notes.md:file",
      "photos:dir",
    ]);
    const inSnapshot = await browseThrough(portalApi, {
      kind: "snapshot",
      jobId: documents.jobId,
      snapshotId: (done.snapshotId ?? "").slice(0, 8),
      path: join(source, "letters"),
    });
    if (inSnapshot.result.kind !== "snapshot") throw new Error("not a snapshot listing");
    expect(inSnapshot.result.entries.map((entry) => [entry.name, entry.type, entry.size])).toEqual([
      ["2026", "dir", 0],
      ["a.txt", "file", 300_000],
    ]);
    const found = await browseThrough(portalApi, { kind: "search", jobId: documents.jobId, pattern: "*.txt" });
    if (found.result.kind !== "search") throw new Error("not a search");
    expect(found.result.matches.map((match) => match.path).sort()).toEqual([
      join(source, "letters", "2026", "bank.txt"),
      join(source, "letters", "a.txt"),
    ]);
    const versions = await browseThrough(portalApi, {
      kind: "versions",
      jobId: documents.jobId,
      path: join(source, "notes.md"),
    });
    expect(versions.result).toMatchObject({
      kind: "versions",
      versions: [{ snapshotId: done.snapshotId, status: "added", entry: { size: 8 } }],
    });

    // A long backup cancelled once its first packs are stored ends `cancelled` within 10 s.
    const big = join(dir, "big");
    await mkdir(big);
    await writeRandomFile(join(big, "video.bin"), 400 * 1024 * 1024);
    const videos = await createS3Job(context, "videos", [big]);
    const { runId: longRunId } = await portalApi.jobs.runNow({ jobId: videos.jobId });
    await waitFor("the first packs of the long backup", async () => (await videos.objects("data")) > 0);
    // A busy agent still answers the pickers within seconds.
    const duringRun = await browseThrough(portalApi, { kind: "local", agentId: context.agentId, path: big });
    expect(duringRun.result).toMatchObject({
      kind: "local",
      entries: [{ name: "video.bin", size: 400 * 1024 * 1024 }],
    });
    expect(duringRun.ms).toBeLessThan(5000);
    expect((await runOf(db, longRunId)).status).toBe("running");
    const cancelledAt = Date.now();
    await portalApi.runs.cancel({ runId: longRunId });
    const cancelled = await waitForStatus(db, longRunId, ["success", "failed", "cancelled"], 10_000);
    expect(cancelled, agent.output()).toMatchObject({ status: "cancelled" });
    expect(Date.now() - cancelledAt).toBeLessThan(10_000);
    expect((await portalApi.runs.events({ runId: longRunId })).map((event) => event.type)).toContain(
      "BACKUP_CANCELLED",
    );
    expect(agent.child.exitCode).toBeNull();
  });

  it("loses nothing while the portal is unreachable: the run's events and final report arrive once it is back", {
    timeout: 240_000,
  }, async () => {
    const context = await setup("outage");
    const { db, portalApi, agentEnv, portal } = context;
    const source = join(dir, "outage-source");
    await mkdir(source);
    await writeRandomFile(join(source, "data.bin"), 8 * 1024 * 1024);
    const job = await createS3Job(context, "outage", [source]);

    const first = startAgent(agentEnv);
    const { runId } = await portalApi.jobs.runNow({ jobId: job.jobId });
    // The portal goes away as soon as the agent has its run; the backup finishes while it is gone.
    await waitFor("the agent to claim the run", async () => first.output().includes(`starting backup run ${runId}`));
    // Held while the portal stops: an 8 MiB backup on an idle machine otherwise finishes and reports before it is
    // down, and there is no outage to survive.
    first.child.kill("SIGSTOP");
    await portal.down();
    first.child.kill("SIGCONT");
    // A report in flight when the server went away ends at the agent's 30 s request timeout at worst.
    await waitFor("the backup to end", async () => first.output().includes(`run ${runId} ended success`), 90_000);
    const finalReport = join(agentEnv.E3_AGENT_STATE, "runs", runId, "final.json");
    await waitFor(
      "the final report on disk",
      async () =>
        stat(finalReport).then(
          () => true,
          () => false,
        ),
      90_000,
    );
    // The agent dies before the portal is back: only its state folder knows how the run ended.
    first.child.kill("SIGKILL");
    await first.exited;
    expect((await runOf(db, runId)).status).toMatch(/^(starting|running)$/);

    await portal.up();
    startAgent(agentEnv);
    const done = await waitForStatus(db, runId, ["success", "warning", "failed", "cancelled"]);
    expect(done).toMatchObject({ status: "success", errorCode: null });
    expect(done.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect((await portalApi.runs.events({ runId })).map((event) => `${event.seq} ${event.type}`)).toEqual([
      "1 BACKUP_STARTING",
      "2 BACKUP_COMPLETED",
    ]);
    const { lines } = await portalApi.runs.logs({ runId });
    expect(lines.map((line) => line.message)).toContain(`repository s3:${s3.endpoint}/${job.bucket}/machine-1 opened`);
    expect((await portalApi.snapshots.list({ jobId: job.jobId })).map((snapshot) => snapshot.snapshotId)).toEqual([
      done.snapshotId,
    ]);
  });

  it("resumes a run after the agent is SIGKILLed: the restarted agent reclaims it and reuses the uploaded packs", {
    timeout: 240_000,
  }, async () => {
    const context = await setup("resume");
    const { db, portalApi, agentEnv } = context;
    const source = join(dir, "resume-source");
    await mkdir(source);
    const size = 256 * 1024 * 1024;
    await writeRandomFile(join(source, "disk.img"), size);
    const job = await createS3Job(context, "resume", [source]);

    const first = startAgent(agentEnv);
    const { runId } = await portalApi.jobs.runNow({ jobId: job.jobId });
    // Killed once the engine has indexed its first packs (every 4 packs), mid-upload.
    await waitFor("the first index of the interrupted run", async () => (await job.objects("index")) > 0);
    first.child.kill("SIGKILL");
    await first.exited;
    expect(await runOf(db, runId)).toMatchObject({ status: "running", snapshotId: null });

    const second = startAgent(agentEnv);
    const done = await waitForStatus(db, runId, ["success", "warning", "failed", "cancelled"]);
    expect(done, second.output()).toMatchObject({ status: "success", errorCode: null });
    expect(second.output()).toContain(`resuming backup run ${runId}`);
    const stats = done.statsJson as { dataAdded: number; totalBytesProcessed: number };
    expect(stats.totalBytesProcessed).toBe(size);
    // What the killed run uploaded and indexed was not uploaded again.
    expect(stats.dataAdded).toBeLessThan(size - 8 * 1024 * 1024);
    const types = (await portalApi.runs.events({ runId })).map((event) => event.type);
    expect(types).toEqual(["BACKUP_STARTING", "BACKUP_RESUMING", "BACKUP_COMPLETED"]);
    expect((await portalApi.snapshots.list({ jobId: job.jobId })).map((snapshot) => snapshot.snapshotId)).toEqual([
      done.snapshotId,
    ]);
    // The dead agent's lock is stale to restic (this host, no such process); unlock removes it before the check.
    await job.restic("unlock");
    expect((await job.restic("check", "--read-data")).stdout).toContain("no errors were found");
  });
  it("resumes a restore after the agent is SIGKILLed: the files already restored are kept, the rest follow", {
    // ~220 s on a loaded machine (a 128 MiB backup, then the restore twice over).
    timeout: 420_000,
  }, async () => {
    const context = await setup("restore-resume");
    const { db, portalApi, agentEnv } = context;
    const source = join(dir, "restore-resume-source");
    await mkdir(source);
    const names = Array.from({ length: 8 }, (_, index) => `part-${index}.bin`);
    for (const name of names) await writeRandomFile(join(source, name), 16 * 1024 * 1024);
    const job = await createS3Job(context, "restore-resume", [source]);
    const first = startAgent(agentEnv);
    const backup = await portalApi.jobs.runNow({ jobId: job.jobId });
    const backedUp = await waitForStatus(db, backup.runId, ["success", "warning", "failed", "cancelled"], 120_000);
    expect(backedUp, first.output()).toMatchObject({ status: "success" });

    const target = join(dir, "restore-resume-target");
    const restore = await portalApi.restore.start({
      jobId: job.jobId,
      snapshotId: backedUp.snapshotId ?? "",
      paths: [],
      targetPath: target,
      overwrite: "always",
    });
    // Killed once the first files are in place under their own names (the engine renames each once it is whole).
    const restoredFolder = join(target, source);
    const present = async () =>
      (await readdir(restoredFolder).catch(() => [] as string[])).filter((name) => names.includes(name));
    const before = await waitFor(
      "the first restored files",
      async () => {
        const done = await present();
        return done.length > 0 && done;
      },
      120_000,
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const atKill = await present();
    expect(atKill.length, "the restore finished before the kill").toBeLessThan(names.length);
    expect((await runOf(db, restore.restoreRunId)).status).toBe("running");
    const inodes = new Map(
      await Promise.all(atKill.map(async (name) => [name, (await stat(join(restoredFolder, name))).ino] as const)),
    );

    const second = startAgent(agentEnv);
    const done = await waitForStatus(db, restore.restoreRunId, ["success", "failed", "cancelled"], 120_000);
    expect(done, second.output()).toMatchObject({ status: "success", errorCode: null });
    expect(second.output()).toContain(`resuming restore run ${restore.restoreRunId}`);
    const types = (await portalApi.runs.events({ runId: restore.restoreRunId })).map((event) => event.type);
    expect(types).toEqual(["RESTORE_STARTING", "RESTORE_RESUMING", "RESTORE_COMPLETED"]);
    // The files the killed attempt finished were verified and kept (same inodes), not written again.
    for (const [name, ino] of inodes) expect((await stat(join(restoredFolder, name))).ino, name).toBe(ino);
    const stats = done.statsJson as { filesRestored: number; filesSkipped: number };
    expect(stats.filesSkipped).toBeGreaterThanOrEqual(before.length);
    expect(stats.filesRestored + stats.filesSkipped).toBe(names.length);
    // Byte-identical, and nothing left of the killed attempt's temporary files.
    expectSameFiles(await listFolder(restoredFolder), await listFolder(source));
    const command = await waitFor("the restore command's answer", async () => {
      const state = await portalApi.commands.get({ commandId: restore.commandId });
      return state.status === "running" ? null : state;
    });
    expect(command).toMatchObject({ status: "completed" });
  });

  it("runs a maintenance again after the agent is SIGKILLed while it waited for the repository's lock", {
    timeout: 300_000,
  }, async () => {
    const context = await setup("maintenance-resume");
    const { db, portalApi, agentEnv } = context;
    const source = join(dir, "maintenance-resume-source");
    await mkdir(source);
    await writeRandomFile(join(source, "data.bin"), 2 * 1024 * 1024);
    const job = await createS3Job(context, "maintenance-resume", [source]);
    const first = startAgent(agentEnv);
    const backup = await portalApi.jobs.runNow({ jobId: job.jobId });
    expect(await waitForStatus(db, backup.runId, ["success", "warning", "failed", "cancelled"])).toMatchObject({
      status: "success",
    });

    // restic holds a shared lock while it reads its stdin: the maintenance waits for its exclusive one.
    const holder = spawn(
      "restic",
      [
        "--no-cache",
        "-r",
        `s3:${s3.endpoint}/${job.bucket}/machine-1`,
        "backup",
        "--stdin",
        "--stdin-filename",
        "held",
      ],
      {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
          AWS_DEFAULT_REGION: s3.region,
          RESTIC_PASSWORD: job.password,
        },
        stdio: ["pipe", "ignore", "ignore"],
      },
    );
    const holderDone = new Promise<number | null>((resolve) => holder.once("close", resolve));
    await waitFor("restic's lock", async () => (await job.objects("locks")) > 0);
    const started = await portalApi.commands.maintenance({ jobId: job.jobId, kind: "maintenance_full" });
    // Started (its first event is in), and it cannot get past the lock: killed mid-run whenever the kill lands.
    await waitFor("the maintenance to start", async () =>
      (await portalApi.runs.events({ runId: started.runId })).some((event) => event.type === "MAINTENANCE_STARTING"),
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    first.child.kill("SIGKILL");
    await first.exited;
    expect((await runOf(db, started.runId)).status).toBe("running");
    holder.stdin.end("held while the agent died\n");
    expect(await holderDone).toBe(0);

    const second = startAgent(agentEnv);
    const done = await waitForStatus(db, started.runId, ["success", "warning", "failed", "cancelled"], 120_000);
    expect(done, second.output()).toMatchObject({
      status: "success",
      errorCode: null,
      statsJson: { check: { ok: true } },
    });
    expect(second.output()).toContain(`resuming maintenance_full run ${started.runId}`);
    const types = (await portalApi.runs.events({ runId: started.runId })).map((event) => event.type);
    expect(types[0]).toBe("MAINTENANCE_STARTING");
    expect(types).toContain("MAINTENANCE_RESUMING");
    expect(types.at(-1)).toBe("MAINTENANCE_COMPLETED");
    const command = await waitFor("the maintenance command's answer", async () => {
      const state = await portalApi.commands.get({ commandId: started.commandId });
      return state.status === "running" ? null : state;
    });
    expect(command.status).toBe("completed");
    expect((await job.restic("check", "--read-data")).stdout).toContain("no errors were found");
  });

  it("syncs a folder exactly (the second run transfers nothing), runs a scheduled backup with retention, and does quick and full maintenance", {
    timeout: 240_000,
  }, async () => {
    const context = await setup("jobs");
    const { db, portalApi, agentEnv } = context;
    const agent = startAgent(agentEnv);

    // engine=sync to a local folder: the mirror is byte-identical, a second run finds nothing to do.
    const source = join(dir, "sync-source");
    await mkdir(join(source, "deep", "er"), { recursive: true });
    await writeFile(join(source, "a.txt"), "alpha\n");
    await writeFile(join(source, "deep", "b.bin"), randomBytes(3_000_000));
    await writeFile(join(source, "deep", "er", "c.txt"), "charlie\n");
    await writeFile(join(source, "skip.tmp"), "left out by the job's exclude glob\n");
    const mirror = join(dir, "sync-mirror");
    const syncJobId = await createSyncJob(context, "mirror", [source], { type: "local", path: mirror });
    await portalApi.jobs.update({ jobId: syncJobId, changes: { excludeGlob: "*.tmp" } });
    const first = await portalApi.jobs.runNow({ jobId: syncJobId });
    const synced = await waitForStatus(db, first.runId, ["success", "warning", "failed", "cancelled"]);
    expect(synced, agent.output()).toMatchObject({ status: "success", errorCode: null, engine: "sync" });
    expect(synced.statsJson).toMatchObject({ engine: "sync", mode: "sync", filesTransferred: 3, errors: 0 });
    const withoutSkipped = (await listFolder(source)).filter((entry) => entry.path !== "skip.tmp");
    expectSameFiles(await listFolder(mirror), withoutSkipped);
    expect((await portalApi.runs.events({ runId: first.runId })).map((event) => event.type)).toEqual([
      "SYNC_STARTING",
      "SYNC_COMPLETED",
    ]);
    const second = await portalApi.jobs.runNow({ jobId: syncJobId });
    const again = await waitForStatus(db, second.runId, ["success", "warning", "failed", "cancelled"]);
    expect(again).toMatchObject({ status: "success" });
    expect(again.statsJson).toMatchObject({
      filesChecked: 3,
      filesTransferred: 0,
      bytesTransferred: 0,
      filesDeleted: 0,
    });

    // A backup started by the worker's scheduler, with retention keeping the last snapshot only.
    const data = join(dir, "scheduled");
    await mkdir(data);
    await writeFile(join(data, "one.txt"), "first version\n");
    const job = await createS3Job(context, "scheduled", [data]);
    await portalApi.jobs.update({
      jobId: job.jobId,
      changes: { schedule: { kind: "interval", everySeconds: 3600 }, retention: { keepLast: 1 } },
    });
    // The slot comes due; the worker's tick (here in the test, as the cron route would call it) enqueues the run.
    await db.job.update({ where: { id: job.jobId }, data: { nextRunAt: new Date(Date.now() - 1000) } });
    await runTick(db, { AGENT_WATCHDOG_TIMEOUT_SECONDS: 300, AGENT_RECLAIM_GRACE_SECONDS: 3 }, null);
    const scheduled = await waitFor("the scheduled run", () =>
      db.run.findFirst({ where: { jobId: job.jobId, trigger: "schedule" } }),
    );
    const firstBackup = await waitForStatus(db, scheduled.id, ["success", "warning", "failed", "cancelled"]);
    expect(firstBackup, agent.output()).toMatchObject({ status: "success", trigger: "schedule" });
    await writeFile(join(data, "one.txt"), "second version, longer\n");
    const manual = await portalApi.jobs.runNow({ jobId: job.jobId });
    const secondBackup = await waitForStatus(db, manual.runId, ["success", "warning", "failed", "cancelled"]);
    expect(secondBackup, agent.output()).toMatchObject({ status: "success", errorCode: null });
    const retained = await portalApi.runs.events({ runId: manual.runId });
    expect(retained.map((event) => event.type)).toEqual(["BACKUP_STARTING", "BACKUP_COMPLETED", "RETENTION_APPLIED"]);
    expect(retained[2]?.dataJson).toMatchObject({ kept: 1, removed: [firstBackup.snapshotId] });
    // The catalog follows the repository: the forgotten snapshot is gone from both.
    expect((await portalApi.snapshots.list({ jobId: job.jobId })).map((snapshot) => snapshot.snapshotId)).toEqual([
      secondBackup.snapshotId,
    ]);
    const everything = await portalApi.snapshots.list({ jobId: job.jobId, includeForgotten: true });
    expect(everything.find((snapshot) => snapshot.snapshotId === firstBackup.snapshotId)?.forgottenAt).toBeInstanceOf(
      Date,
    );
    const inRepository = JSON.parse((await job.restic("snapshots", "--json")).stdout) as { id: string }[];
    expect(inRepository.map((snapshot) => snapshot.id)).toEqual([secondBackup.snapshotId]);

    // Maintenance through commands: each has its run with progress, events and the summary in stats.
    const storedToday = async () => (await portalApi.dashboard.storage({ days: 7 })).points.at(-1)!.storedBytes;
    for (const kind of ["maintenance_quick", "maintenance_full"] as const) {
      const started = await portalApi.commands.maintenance({ jobId: job.jobId, kind });
      const run = await waitForStatus(db, started.runId, ["success", "warning", "failed", "cancelled"]);
      expect(run, agent.output()).toMatchObject({ status: "success", runType: kind, errorCode: null });
      const types = (await portalApi.runs.events({ runId: started.runId })).map((event) => event.type);
      expect(types[0]).toBe("MAINTENANCE_STARTING");
      expect(types.at(-1)).toBe("MAINTENANCE_COMPLETED");
      expect(types).toContain("MAINTENANCE_PROGRESS");
      expect(run.statsJson).toMatchObject({ kind: kind === "maintenance_quick" ? "quick" : "full" });
      if (kind === "maintenance_full") {
        // The prune removed the forgotten snapshot's data; the check read a sample and found nothing wrong.
        expect(run.statsJson).toMatchObject({ check: { ok: true }, packsDeleted: expect.any(Number) });
        expect((run.statsJson as { bytesFreed: number }).bytesFreed).toBeGreaterThan(0);
        // The dashboard's "stored" is now the pruned repository's size, not the sum of every backup's additions.
        const { bytes } = (run.statsJson as { prune: { bytes: { used: number; unusedAfter: number } } }).prune;
        expect(bytes.used).toBeGreaterThan(0);
        // Snapshots from before the prune no longer count: what they added is in the pruned size or gone. The
        // dashboard sums the tenant's jobs (other cases' jobs share it), so this job's share is the difference
        // with its prune not counted and its snapshots adding nothing.
        await db.snapshot.updateMany({ where: { jobId: job.jobId }, data: { addedBytes: 1 } });
        const withPrune = await storedToday();
        await db.snapshot.updateMany({ where: { jobId: job.jobId }, data: { addedBytes: 0 } });
        await db.run.update({ where: { id: started.runId }, data: { status: "failed" } });
        const otherJobs = await storedToday();
        await db.run.update({ where: { id: started.runId }, data: { status: run.status } });
        expect(withPrune - otherJobs).toBe(bytes.used + bytes.unusedAfter);
      }
      const command = await waitFor("the maintenance command's answer", async () => {
        const state = await portalApi.commands.get({ commandId: started.commandId });
        return state.status === "running" ? null : state;
      });
      expect(command.status).toBe("completed");
    }
    expect((await job.restic("check", "--read-data")).stdout).toContain("no errors were found");
  });

  it("keeps an agent-held repository key on the machine and hands the recovery passphrase to the portal once", {
    timeout: 120_000,
  }, async () => {
    const context = await setup("agentkeys");
    const { db, portalApi, agentEnv } = context;
    const source = join(dir, "private");
    await mkdir(source);
    await writeFile(join(source, "secret.txt"), "only the customer can read this\n");
    const repository = join(dir, "private-repository");
    const created = await portalApi.jobs.create({
      name: "private",
      agentId: context.agentId,
      engine: "backup",
      sourcePaths: [source],
      destination: { type: "local", path: repository },
      schedule: { kind: "manual" },
      encryptionMode: "agent",
    });
    const jobId = (created as { id: string }).id;
    expect((await db.job.findUniqueOrThrow({ where: { id: jobId } })).repoPasswordEnc).toBeNull();
    const agent = startAgent(agentEnv);
    const { runId } = await portalApi.jobs.runNow({ jobId });
    const done = await waitForStatus(db, runId, ["success", "warning", "failed", "cancelled"]);
    expect(done, agent.output()).toMatchObject({ status: "success", errorCode: null });

    const keyFile = join(agentEnv.E3_AGENT_STATE, "keys", `job-${jobId}.json`);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(await readFile(keyFile, "utf8")) as { password: string; recoveryPassphrase: string };
    // The event that carried the passphrase holds it sealed; nothing in the portal's database has it in the clear.
    const events = await portalApi.runs.events({ runId });
    expect(events.map((event) => event.type)).toEqual(["BACKUP_STARTING", "RECOVERY_KEY_CREATED", "BACKUP_COMPLETED"]);
    const json = (value: unknown) =>
      JSON.stringify(value, (_, item) => (typeof item === "bigint" ? String(item) : item));
    const stored = json(await db.runEvent.findMany({ where: { runId } }));
    expect(stored).not.toContain(keys.recoveryPassphrase);
    expect(stored).not.toContain(keys.password);
    expect(stored).toContain("passphraseSealed");
    const recovery = await portalApi.jobs.recoveryKey({ jobId });
    expect(recovery.passphrase).toBe(keys.recoveryPassphrase);
    await expect(portalApi.jobs.recoveryKey({ jobId })).rejects.toThrow(/downloaded already/);
    expect(json(await db.runEvent.findMany({ where: { runId } }))).not.toContain("passphraseSealed");

    // restic opens the repository with either key; the customer's passphrase alone is enough to restore.
    const restic = (password: string, ...args: string[]) =>
      exec("restic", ["--no-cache", "-r", repository, ...args], { env: { ...process.env, RESTIC_PASSWORD: password } });
    for (const password of [keys.password, recovery.passphrase]) {
      const listed = JSON.parse((await restic(password, "snapshots", "--json")).stdout) as { id: string }[];
      expect(listed.map((snapshot) => snapshot.id)).toEqual([done.snapshotId]);
    }
    const restored = join(dir, "private-restored");
    await restic(recovery.passphrase, "restore", "latest", "--target", restored);
    expect(await readFile(join(restored, source, "secret.txt"), "utf8")).toBe("only the customer can read this\n");

    // A second run reuses the agent's key, and browsing its snapshots works with it too.
    const next = await portalApi.jobs.runNow({ jobId });
    expect(await waitForStatus(db, next.runId, ["success", "warning", "failed", "cancelled"])).toMatchObject({
      status: "success",
    });
    expect((await portalApi.runs.events({ runId: next.runId })).map((event) => event.type)).toEqual([
      "BACKUP_STARTING",
      "BACKUP_COMPLETED",
    ]);
    const browsed = await browseThrough(portalApi, { kind: "versions", jobId, path: join(source, "secret.txt") });
    expect(browsed.result).toMatchObject({
      kind: "versions",
      versions: [{ status: "unchanged" }, { status: "added" }],
    });
  });

  it("loses nothing the agent logged while the portal was unreachable for 60 s mid-run", {
    timeout: 240_000,
  }, async () => {
    const context = await setup("outage60");
    const { db, portalApi, agentEnv, portal } = context;
    // Three folders at 2 MiB/s: about 75 s of syncing, each folder starting with a log line.
    const folders = ["folder-a", "folder-b", "folder-c"].map((name) => join(dir, "outage60", name));
    for (const folder of folders) {
      await mkdir(folder, { recursive: true });
      for (let index = 0; index < 5; index++)
        await writeRandomFile(join(folder, `part-${index}.bin`), 10 * 1024 * 1024);
    }
    const bucket = bucketName("outage60");
    buckets.push(bucket);
    const jobId = await createSyncJob(
      context,
      "outage60",
      folders,
      { type: "s3", bucket },
      { bandwidthLimitKbps: 2048 },
    );
    const agent = startAgent(agentEnv);
    const { runId } = await portalApi.jobs.runNow({ jobId });
    await waitFor("the sync to start", async () => (await portalApi.runs.events({ runId })).length > 0);
    // The server process itself stops (portal and worker) for 60 s, then starts again on the same port.
    await portal.down();
    const downAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    expect(await fetch(`${portal.url}/api/health`).catch(() => null)).toBeNull();
    await portal.up();
    const done = await waitForStatus(db, runId, ["success", "warning", "failed", "cancelled"], 120_000);
    expect(done, agent.output()).toMatchObject({ status: "success", errorCode: null });
    const { events, logs, messages } = await sequences(portalApi, runId);
    expect(events.sort((a, b) => a - b)).toEqual([1, 2]);
    expect(logs).toEqual(oneToN(logs.length));
    // Lines logged while the portal was away arrived, each once.
    for (const folder of folders)
      expect(messages.filter((message) => message.startsWith(`syncing ${folder} `))).toHaveLength(1);
    const lines = (await portalApi.runs.logs({ runId })).lines;
    expect(lines.some((line) => line.ts.getTime() > downAt && line.ts.getTime() < downAt + 60_000)).toBe(true);
    expect(done.statsJson).toMatchObject({ filesTransferred: 15, bytesTransferred: 150 * 1024 * 1024 });
  });

  it("fails a run AGENT_OFFLINE when the portal hears nothing beyond the watchdog timeout; the next run succeeds", {
    timeout: 180_000,
  }, async () => {
    const context = await setup("watchdog", { grace: 3, watchdog: 15 });
    const { db, portalApi, agentEnv, portal } = context;
    const source = join(dir, "watchdog-source");
    await mkdir(source);
    for (let index = 0; index < 4; index++) await writeRandomFile(join(source, `part-${index}.bin`), 10 * 1024 * 1024);
    const mirror = join(dir, "watchdog-mirror");
    const jobId = await createSyncJob(
      context,
      "watchdog",
      [source],
      { type: "local", path: mirror },
      { bandwidthLimitKbps: 1024 },
    );
    const agent = startAgent(agentEnv);
    const { runId } = await portalApi.jobs.runNow({ jobId });
    await waitFor("the sync to start", async () => (await portalApi.runs.events({ runId })).length > 0);
    // The server (portal and worker) stops for longer than the 15 s watchdog timeout; nobody fails the run meanwhile.
    await portal.down();
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    expect((await runOf(db, runId)).status).toBe("running");
    // The worker comes back first, as a separate `pnpm worker` process on the same database (start.ts would race
    // its worker's first tick against the agent's first heartbeat to the portal): its watchdog fails the silent run.
    const worker = startWorker(context.env);
    const failed = await waitForStatus(db, runId, ["success", "warning", "failed", "cancelled"], 60_000);
    expect(failed, worker.output()).toMatchObject({ status: "failed", errorCode: "AGENT_OFFLINE" });
    await waitFor("the worker's log line", async () => worker.output().includes("1 runs failed AGENT_OFFLINE"));
    await portal.up();
    // Back online, the agent learns the run is over, stops it, and takes the next one.
    await waitFor(
      "the agent to stop the failed run",
      async () => agent.output().includes(`run ${runId} ended`),
      60_000,
    );
    const next = await portalApi.jobs.runNow({ jobId });
    const done = await waitForStatus(db, next.runId, ["success", "warning", "failed", "cancelled"], 120_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${agent.output()}`);
      },
    );
    expect(done, agent.output()).toMatchObject({ status: "success", errorCode: null });
    expectSameFiles(await listFolder(mirror), await listFolder(source));
    expect((await runOf(db, runId)).errorCode).toBe("AGENT_OFFLINE");
  });
});
