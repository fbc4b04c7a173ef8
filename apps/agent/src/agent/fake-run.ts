import { type RunAssignment, runAssignmentSchema } from "@e3/api/agent-contract";
import type { RunReporter } from "./run-reporter.ts";

// For the tests that run a backup as the agent does, without a portal: an assignment of a managed job (password
// "pw") backing up into a local repository, and a reporter that records what the run tells it.

export function backupAssignment(options: {
  name: string;
  paths: string[];
  repository: string;
  policy: unknown;
  excludeGlob?: string | null;
}): RunAssignment {
  return runAssignmentSchema.parse({
    runId: "00000000-0000-4000-8000-00000000000a",
    jobId: "00000000-0000-4000-8000-00000000000b",
    jobName: options.name,
    runType: "backup",
    engine: "backup",
    reclaimed: false,
    source: { paths: options.paths, includeGlob: null, excludeGlob: options.excludeGlob ?? null },
    destination: {
      type: "local",
      bucket: null,
      prefix: null,
      localPath: options.repository,
      endpoint: null,
      region: null,
      accessKeyId: null,
      secretAccessKey: null,
      bucketAutoCreate: false,
    },
    repository: { encryptionMode: "managed", password: "pw" },
    compression: "auto",
    schedule: null,
    retention: null,
    policy: options.policy,
    bandwidthLimitKbps: null,
    localBandwidthLimitKbps: null,
    parallelism: null,
    heartbeatSeconds: 30,
  });
}

/** A RunReporter that keeps event types and "level message" log lines. */
export function recordingReporter() {
  const events: string[] = [];
  const logs: string[] = [];
  const reporter = {
    event: (type: string) => events.push(type),
    log: (level: string, message: string) => logs.push(`${level} ${message}`),
    progress: () => {},
  } as unknown as RunReporter;
  return { reporter, events, logs };
}
