import { forget, type Repository, type RetentionPolicy, retentionPolicySchema } from "@e3/engine";
import { z } from "zod";
import type { RunReporter } from "./run-reporter.ts";

// A job's retention (the portal's retention_json) applied with the engine's forget after a backup that wrote a
// snapshot. The portal's form allows weeks in keepWithin ("2w") and one comma-separated tag list per keepTags
// entry; restic's policy (the engine's) counts weeks as days and takes tag lists as arrays.

const portalRetentionSchema = z.object({
  keepLast: z.number().int().nonnegative().optional(),
  keepHourly: z.number().int().nonnegative().optional(),
  keepDaily: z.number().int().nonnegative().optional(),
  keepWeekly: z.number().int().nonnegative().optional(),
  keepMonthly: z.number().int().nonnegative().optional(),
  keepYearly: z.number().int().nonnegative().optional(),
  keepWithin: z.string().optional(),
  keepTags: z.array(z.string()).optional(),
});

/** "1y2w3d" → "1y17d": weeks folded into days, the other units as they are. */
export function withoutWeeks(duration: string): string {
  const weeks = /(\d+)w/.exec(duration);
  if (!weeks) return duration;
  const days = /(\d+)d/.exec(duration);
  const totalDays = Number(weeks[1]) * 7 + (days ? Number(days[1]) : 0);
  const rest = duration.replace(/\d+w/, "").replace(/\d+d/, "");
  const hours = /(\d+h)$/.exec(rest);
  return `${rest.replace(/\d+h$/, "")}${totalDays}d${hours ? hours[1] : ""}`;
}

/** The engine's policy for the job's retention, or null when the job keeps every snapshot. */
export function engineRetention(retention: unknown): RetentionPolicy | null {
  if (retention === null || retention === undefined) return null;
  const portal = portalRetentionSchema.parse(retention);
  const policy: RetentionPolicy = {};
  for (const key of ["keepLast", "keepHourly", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly"] as const) {
    const value = portal[key];
    if (value) policy[key] = value;
  }
  if (portal.keepWithin) policy.keepWithin = withoutWeeks(portal.keepWithin);
  const tags = (portal.keepTags ?? [])
    .map((list) =>
      list
        .split(",")
        .map((tag) => tag.trim())
        .filter(Boolean),
    )
    .filter((list) => list.length > 0);
  if (tags.length) policy.keepTags = tags;
  if (Object.keys(policy).length === 0) return null;
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
