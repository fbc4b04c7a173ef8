import type { Database, Job } from "@e3/db";
import type { RunAssignment } from "../agent/contract.ts";
import { type Keyring, openSecret } from "../secrets/envelope.ts";
import { readSetting } from "./settings.ts";

export type JobContext = Omit<RunAssignment, "runId" | "runType" | "reclaimed">;

/** How often agents must report during a run; well inside the reclaim grace so a live run is never reclaimed. */
export const agentHeartbeatSeconds = 30;

function open(keyring: Keyring, envelope: string | null, column: string): string | null {
  return envelope === null ? null : openSecret(keyring, envelope, column);
}

/**
 * Everything an agent needs to run a job, with its secrets decrypted. Only next_run and the command polls call
 * this; nothing else ever holds the plaintext.
 */
export async function buildJobContext(db: Database, keyring: Keyring, job: Job): Promise<JobContext> {
  const [endpoint, region] = await Promise.all([
    job.destEndpoint ? Promise.resolve(job.destEndpoint) : readSetting(db, "agent_s3_endpoint"),
    job.destRegion ? Promise.resolve(job.destRegion) : readSetting(db, "agent_s3_region"),
  ]);
  return {
    jobId: job.id,
    jobName: job.name,
    engine: job.engine,
    source: { paths: job.sourcePaths, includeGlob: job.localIncludeGlob, excludeGlob: job.localExcludeGlob },
    destination: {
      type: job.destType,
      bucket: job.destBucket,
      prefix: job.destPrefix,
      localPath: job.destLocalPath,
      endpoint: job.destType === "s3" ? endpoint : null,
      region: job.destType === "s3" ? region : null,
      accessKeyId: open(keyring, job.destAccessKeyEnc, "dest_access_key_enc"),
      secretAccessKey: open(keyring, job.destSecretKeyEnc, "dest_secret_key_enc"),
      bucketAutoCreate: job.bucketAutoCreate,
    },
    repository: {
      encryptionMode: job.encryptionMode,
      password: job.encryptionMode === "managed" ? open(keyring, job.repoPasswordEnc, "repo_password_enc") : null,
    },
    compression: job.compression,
    schedule: job.scheduleJson,
    retention: job.retentionJson,
    policy: job.policyJson,
    bandwidthLimitKbps: job.bandwidthLimitKbps,
    localBandwidthLimitKbps: job.localBandwidthLimitKbps,
    parallelism: job.parallelism,
    heartbeatSeconds: agentHeartbeatSeconds,
  };
}
