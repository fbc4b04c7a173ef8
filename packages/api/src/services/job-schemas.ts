import type { RetentionPolicy } from "@e3/engine/retention";
import { z } from "zod";
import { scheduleSchema } from "../schedule.ts";
import { policySchema, text } from "./policy-schema.ts";

// What a job may say, validated on the way in (tRPC input) so the JSON columns never hold anything invalid.

const keepCount = z.number().int().min(0).max(100_000).optional();
const keepDuration = z
  .string()
  .regex(/^(\d+y)?(\d+m)?(\d+w)?(\d+d)?(\d+h)?$/, "must be a duration like 30d, 2w, 6m, 1y or 1y6m")
  .refine((value) => value.length > 0, "must not be empty")
  .optional();

/** restic's `forget` rules; `keepWithin` is a duration like 30d, 2w, 6m, 1y, or combined (1y6m). */
export const retentionSchema = z
  .strictObject({
    keepLast: keepCount,
    keepHourly: keepCount,
    keepDaily: keepCount,
    keepWeekly: keepCount,
    keepMonthly: keepCount,
    keepYearly: keepCount,
    keepWithin: keepDuration,
    /** The newest snapshot of every hour/day/week/month/year inside the window (restic --keep-within-daily …). */
    keepWithinHourly: keepDuration,
    keepWithinDaily: keepDuration,
    keepWithinWeekly: keepDuration,
    keepWithinMonthly: keepDuration,
    keepWithinYearly: keepDuration,
    keepTags: z.array(text(255).min(1)).max(20).optional(),
  })
  .refine(
    (rules) =>
      Object.values(rules).some((value) =>
        Array.isArray(value) ? value.length > 0 : value !== undefined && value !== 0,
      ),
    "keep at least something (for example keepDaily: 7), or leave retention empty to keep every snapshot",
  );
export type Retention = z.infer<typeof retentionSchema>;

export type { Schedule } from "../schedule.ts";
export { type Policy, policySchema } from "./policy-schema.ts";

export const bucketNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    "must be a valid S3 bucket name (3-63 lower-case letters, digits, . and -)",
  );

const s3Destination = z.strictObject({
  type: z.literal("s3"),
  bucket: bucketNameSchema,
  prefix: text(1024)
    .regex(/^[^/].*$|^$/, "must not start with /")
    .optional(),
  endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  region: text(64).min(1).optional(),
  accessKeyId: text(256).min(1).optional(),
  secretAccessKey: text(256).min(1).optional(),
  bucketAutoCreate: z.boolean().default(false),
});
const localDestination = z.strictObject({
  type: z.literal("local"),
  path: text(4096).min(1, "is required"),
});
export const destinationSchema = z.discriminatedUnion("type", [s3Destination, localDestination]);

/** The job's glob fields hold one pattern per line (a comma also separates); the agent splits them the same way. */
export function splitGlobs(globs: string | null | undefined): string[] {
  if (!globs) return [];
  return globs
    .split(/[\n,]/)
    .map((pattern) => pattern.trim())
    .filter((pattern) => pattern.length > 0);
}

const jobFields = {
  name: text(200).min(1, "is required"),
  agentId: z.uuid(),
  engine: z.enum(["backup", "sync"]),
  sourcePaths: z.array(text(4096).min(1)).min(1, "pick at least one folder").max(100),
  destination: destinationSchema,
  schedule: scheduleSchema,
  retention: retentionSchema.nullable().default(null),
  policy: policySchema.default(policySchema.parse({})),
  bandwidthLimitKbps: z.number().int().positive().max(10_000_000).nullable().default(null),
  localBandwidthLimitKbps: z.number().int().positive().max(10_000_000).nullable().default(null),
  parallelism: z.number().int().min(1).max(64).nullable().default(null),
  encryptionMode: z.enum(["managed", "agent"]).default("managed"),
  compression: z.enum(["auto", "off", "max"]).default("auto"),
  includeGlob: text(4096).nullable().default(null),
  excludeGlob: text(4096).nullable().default(null),
  notifyOn: z.enum(["all", "errors", "off"]).nullable().default(null),
  enabled: z.boolean().default(true),
};

export const createJobInputSchema = z.strictObject(jobFields).superRefine((job, context) => {
  if (job.destination.type === "s3" && (!job.destination.accessKeyId || !job.destination.secretAccessKey)) {
    context.addIssue({
      code: "custom",
      path: ["destination", "accessKeyId"],
      message: "an S3 destination needs an access key id and a secret access key",
    });
  }
});
export type CreateJobInput = z.infer<typeof createJobInputSchema>;

type WithoutDefaults<T> = { [K in keyof T]: T[K] extends z.ZodDefault<infer Inner> ? Inner : T[K] };

/** The fields without their defaults: a change leaves out what it does not touch (zod fills defaults otherwise). */
function withoutDefaults<T extends Record<string, z.ZodType>>(fields: T): WithoutDefaults<T> {
  return Object.fromEntries(
    Object.entries(fields).map(([key, schema]) => [key, schema instanceof z.ZodDefault ? schema.unwrap() : schema]),
  ) as WithoutDefaults<T>;
}

/** Every field optional; fields left out keep their stored values (S3 keys left out keep the stored ones). */
export const updateJobInputSchema = z.strictObject({
  jobId: z.uuid(),
  changes: z.strictObject(withoutDefaults(jobFields)).partial(),
});
export type UpdateJobInput = z.infer<typeof updateJobInputSchema>;

/**
 * A job's retention as the engine's plan (and restic's forget) take it: weeks become days (restic's durations know
 * y, m, d and h only) and each keepTags entry is a comma-separated tag list, as restic's `--keep-tag a,b`.
 */
export function engineRetentionPolicy(retention: Retention): RetentionPolicy {
  const duration = (value: string | undefined) => {
    if (value === undefined) return undefined;
    const parts = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(value);
    if (!parts) return value;
    const [, years, months, weeks, days, hours] = parts;
    const totalDays = Number(weeks ?? 0) * 7 + Number(days ?? 0);
    return (
      (years ? `${Number(years)}y` : "") +
        (months ? `${Number(months)}m` : "") +
        (totalDays ? `${totalDays}d` : "") +
        (hours ? `${Number(hours)}h` : "") || "0d"
    );
  };
  const { keepTags, ...rest } = retention;
  const policy: RetentionPolicy = {};
  for (const [key, value] of Object.entries(rest) as [keyof typeof rest, string | number | undefined][]) {
    if (value === undefined) continue;
    (policy as Record<string, unknown>)[key] = typeof value === "string" ? duration(value) : value;
  }
  if (keepTags?.length) {
    policy.keepTags = keepTags.map((list) =>
      list
        .split(",")
        .map((tag) => tag.trim())
        .filter(Boolean),
    );
  }
  return policy;
}
