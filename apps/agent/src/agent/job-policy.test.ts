import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunAssignment } from "@e3/api/agent-contract";
import { type Policy, policySchema } from "@e3/api/policy";
import { afterAll, describe, expect, it } from "vitest";
import { backupPolicyOptions, readRunPolicy, runJobCommand, withJobCommands } from "./job-policy.ts";
import type { FinalReport, RunReporter } from "./run-reporter.ts";

// The job's policy on the agent: the portal's schema, the engine options it becomes, and pre/post commands run by
// the real shell (exit codes, timeouts that kill, output kept, no secrets in their environment), gated by agent.conf.

const dir = await mkdtemp(join(tmpdir(), "e3-job-policy-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A reporter that keeps what it is told (the real one writes to a spool and the portal). */
function recorder() {
  const events: { type: string; level: string; message?: string | undefined }[] = [];
  const logs: { level: string; message: string }[] = [];
  const reporter = {
    event: (type: string, level: string, message?: string) => events.push({ type, level, message }),
    log: (level: string, message: string) => logs.push({ level, message }),
  } as unknown as RunReporter;
  return { reporter, events, logs };
}

const run = {
  runId: "00000000-0000-4000-8000-000000000001",
  jobId: "00000000-0000-4000-8000-000000000002",
  source: { paths: ["/srv/a", "/srv/b"], includeGlob: null, excludeGlob: null },
  policy: {},
} as unknown as RunAssignment;

const policy = (fields: Partial<Policy>): Policy => policySchema.parse(fields);

describe("readRunPolicy", () => {
  it.each([
    { name: "an empty policy", value: null, allow: false, code: null },
    { name: "an invalid policy", value: { packSizeMiB: 1 }, allow: false, code: "INVALID_POLICY" },
    {
      name: "commands on an agent that does not allow them",
      value: { preCommand: { command: "true" } },
      allow: false,
      code: "COMMANDS_NOT_ALLOWED",
    },
    {
      name: "commands on an agent that allows them",
      value: { postCommand: { command: "true" } },
      allow: true,
      code: null,
    },
  ])("$name", ({ value, allow, code }) => {
    const { reporter, events } = recorder();
    const read = readRunPolicy({ ...run, policy: value }, reporter, { allowJobCommands: allow });
    if (code === null) expect("policy" in read).toBe(true);
    else {
      expect(read).toMatchObject({ report: { status: "failed", errorCode: code } });
      expect(events[0]?.type).toBe("BACKUP_FAILED");
    }
  });

  it("names fields it does not know instead of failing", () => {
    const { reporter, logs } = recorder();
    const read = readRunPolicy({ ...run, policy: { excludeCaches: false, fromTheFuture: 1 } }, reporter, {});
    expect(read).toMatchObject({ policy: { excludeCaches: false } });
    expect(logs[0]).toMatchObject({ level: "warn" });
  });
});

describe("backupPolicyOptions", () => {
  it.each([
    {
      policy: policy({}),
      parallelism: null,
      options: { excludeCaches: true, oneFileSystem: false, failOnUnreadable: false, packSize: 16 * 1024 * 1024 },
    },
    {
      policy: policy({ excludeCaches: false, skipUnreadable: false, excludeLargerThanBytes: 1000, packSizeMiB: 64 }),
      parallelism: 6,
      options: {
        excludeCaches: false,
        failOnUnreadable: true,
        excludeLargerThan: 1000,
        packSize: 64 << 20,
        fileConcurrency: 6,
      },
    },
    {
      policy: policy({ readConcurrency: 3, oneFileSystem: true }),
      parallelism: 6,
      options: { oneFileSystem: true, fileConcurrency: 3 },
    },
  ])("%#", ({ policy, parallelism, options }) => {
    const mapped = backupPolicyOptions(policy, { ...unlimited, parallelism });
    expect(mapped).toMatchObject(options);
    if (!("fileConcurrency" in options)) expect(mapped.fileConcurrency).toBeUndefined();
    expect(mapped.uploadLimit).toBeUndefined();
  });

  // The wizard's limit (KiB/s) and timetable reach the backup's uploads as they reach a sync's --bwlimit.
  it.each([
    { what: "the job's limit", fields: {}, run: { bandwidthLimitKbps: 512 }, limit: "512K" },
    {
      what: "the timetable before the limit",
      fields: { bandwidthTimetable: "Mon-Fri 08:00,512 18:00,off" },
      run: { bandwidthLimitKbps: 512 },
      limit: "Mon-Fri 08:00,512 18:00,off",
    },
    {
      what: "the local-network limit for a folder repository",
      fields: {},
      run: { bandwidthLimitKbps: 512, localBandwidthLimitKbps: 20_000, destination: { type: "local" as const } },
      limit: "20000K",
    },
    {
      what: "the job's limit for a folder repository without a local one",
      fields: {},
      run: { bandwidthLimitKbps: 300, destination: { type: "local" as const } },
      limit: "300K",
    },
    {
      what: "no local-network limit for S3",
      fields: {},
      run: { localBandwidthLimitKbps: 20_000 },
      limit: undefined,
    },
  ])("upload limit: $what", ({ fields, run, limit }) => {
    const mapped = backupPolicyOptions(policy(fields), { ...unlimited, ...run } as typeof unlimited);
    expect(mapped.uploadLimit).toBe(limit);
  });
});

const unlimited = {
  parallelism: null,
  destination: { type: "s3" },
  bandwidthLimitKbps: null,
  localBandwidthLimitKbps: null,
} as unknown as Pick<RunAssignment, "parallelism" | "destination" | "bandwidthLimitKbps" | "localBandwidthLimitKbps">;

describe("runJobCommand", () => {
  it.each([
    { command: "echo hello; exit 0", ok: true, exitCode: 0, output: "hello" },
    { command: "echo broken >&2; exit 3", ok: false, exitCode: 3, output: "broken" },
    { command: "exit 127", ok: false, exitCode: 127, output: "" },
  ])("$command", async ({ command, ok, exitCode, output }) => {
    const outcome = await runJobCommand({ command, timeoutSeconds: 30 }, { env: {} });
    expect(outcome).toMatchObject({ ok, exitCode, timedOut: false });
    expect(outcome.output.trim()).toBe(output);
  });

  it("passes the run's variables and none of the agent's secrets", async () => {
    process.env.E3_PASSWORD = "do-not-leak";
    process.env.AWS_SECRET_ACCESS_KEY = "do-not-leak";
    try {
      const outcome = await runJobCommand(
        {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
          command: 'echo "$E3_HOOK|$E3_JOB_ID|${E3_PASSWORD:-none}|${AWS_SECRET_ACCESS_KEY:-none}"',
          timeoutSeconds: 30,
        },
        { env: { E3_HOOK: "pre", E3_JOB_ID: "job" } },
      );
      expect(outcome.output.trim()).toBe("pre|job|none|none");
    } finally {
      delete process.env.E3_PASSWORD;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });

  it("stops a command and what it started at the timeout", async () => {
    const marker = join(dir, "survived");
    const started = Date.now();
    const outcome = await runJobCommand(
      { command: `(sleep 3; touch ${marker}) & sleep 30`, timeoutSeconds: 1 },
      { env: {} },
    );
    expect(outcome).toMatchObject({ ok: false, timedOut: true });
    expect(Date.now() - started).toBeLessThan(10_000);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(await readFile(marker).catch(() => "killed")).toBe("killed");
  });

  it("stops a command when the run is cancelled", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("cancelled")), 300);
    const outcome = await runJobCommand(
      { command: "sleep 30", timeoutSeconds: 60 },
      { env: {}, signal: controller.signal },
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.exitCode).toBeNull();
  });
});

describe("withJobCommands", () => {
  const signal = new AbortController().signal;
  const succeeded: FinalReport = { status: "success", snapshot: { id: "abc123" } as FinalReport["snapshot"] };

  it("does not back up when the pre-command fails", async () => {
    const { reporter, events } = recorder();
    let backedUp = false;
    const report = await withJobCommands(
      run,
      policy({ preCommand: { command: "exit 2", timeoutSeconds: 30 } }),
      reporter,
      signal,
      async () => {
        backedUp = true;
        return succeeded;
      },
    );
    expect(backedUp).toBe(false);
    expect(report).toMatchObject({ status: "failed", errorCode: "PRE_COMMAND_FAILED" });
    expect(events.map((event) => event.type)).toEqual(["PRE_COMMAND_STARTING", "PRE_COMMAND_FAILED"]);
  });

  it("runs the post-command with the outcome, and a failing one makes a success a warning", async () => {
    const out = join(dir, "post.txt");
    const { reporter } = recorder();
    const post = { command: `echo "$E3_BACKUP_STATUS $E3_SNAPSHOT_ID" > ${out}; exit 1`, timeoutSeconds: 30 };
    const report = await withJobCommands(run, policy({ postCommand: post }), reporter, signal, async () => succeeded);
    expect(report).toMatchObject({ status: "warning", errorCode: "POST_COMMAND_FAILED", snapshot: { id: "abc123" } });
    expect((await readFile(out, "utf8")).trim()).toBe("success abc123");
  });

  it("runs the post-command after a backup that threw, then rethrows", async () => {
    const out = join(dir, "post-failed.txt");
    const { reporter } = recorder();
    const post = { command: `echo "$E3_BACKUP_STATUS" > ${out}`, timeoutSeconds: 30 };
    const error = await withJobCommands(run, policy({ postCommand: post }), reporter, signal, async () => {
      throw new Error("disk on fire");
    }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe("disk on fire");
    expect((await readFile(out, "utf8")).trim()).toBe("failed");
  });
});
