import { engineRetentionPolicy, retentionSchema } from "@e3/api/job-schemas";
import { forget, type Repository, type RetentionPolicy, retentionPolicySchema } from "@e3/engine";
import type { RunReporter } from "./run-reporter.ts";

// A job's retention (the portal's retention_json, converted as the portal's preview converts it) applied with the
// engine's forget after a backup that wrote a snapshot.

/** The engine's policy for the job's retention, or null when the job keeps every snapshot. */
export function engineRetention(retention: unknown): RetentionPolicy | null {
  if (retention === null || retention === undefined) return null;
  const policy = engineRetentionPolicy(retentionSchema.parse(retention));
  // A policy the engine cannot read fails here, before anything is removed.
  retentionPolicySchema.parse(policy);
  return policy;
}

export type RetentionOutcome = { removed: string[]; kept: number } | { error: { code: string; message: string } };

/**
 * Applies the job's retention to the repository (forget, under the exclusive lock), with RETENTION_APPLIED or
 * RETENTION_FAILED events. A failure does not undo the backup: the caller reports the run as a warning.
 */
export async function applyRetention(
  repository: Repository,
  retention: unknown,
  reporter: RunReporter,
  signal: AbortSignal,
): Promise<RetentionOutcome | null> {
  let policy: RetentionPolicy | null;
  try {
    policy = engineRetention(retention);
  } catch (error) {
    const message = `the job's retention cannot be applied: ${(error as Error).message}; fix it in the portal`;
    reporter.event("RETENTION_FAILED", "error", message, { code: "RETENTION_INVALID" });
    return { error: { code: "RETENTION_INVALID", message } };
  }
  if (!policy) return null;
  try {
    const { plan, removed } = await forget(repository, { policy, signal });
    const kept = plan.groups.reduce((sum, group) => sum + group.keep.length, 0);
    reporter.event(
      "RETENTION_APPLIED",
      "info",
      `${plan.description}: kept ${kept} snapshots, removed ${removed.length}`,
      {
        kept,
        removed,
      },
    );
    return { removed, kept };
  } catch (error) {
    if (signal.aborted) throw error;
    const code = (error as { code?: unknown }).code;
    const message = `retention was not applied: ${(error as Error).message}`;
    reporter.event("RETENTION_FAILED", "error", message, {
      code: typeof code === "string" ? code : "RETENTION_FAILED",
    });
    return { error: { code: "RETENTION_FAILED", message } };
  }
}
