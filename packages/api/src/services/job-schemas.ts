import { z } from "zod";
import { scheduleSchema } from "../schedule.ts";
import { policySchema, text } from "./policy-schema.ts";

// What a job may say, validated on the way in (tRPC input) so the JSON columns never hold anything invalid.

const keepCount = z.number().int().min(0).max(100_000).optional();

/** restic's `forget` rules; `keepWithin` is a duration like 30d, 2w, 6m, 1y, or combined (1y6m). */
export const retentionSchema = z
  .strictObject({
    keepLast: keepCount,
    keepHourly: keepCount,
    keepDaily: keepCount,
    keepWeekly: keepCount,
    keepMonthly: keepCount,
    keepYearly: keepCount,
    keepWithin: z
      .string()
      .regex(/^(\d+y)?(\d+m)?(\d+w)?(\d+d)?(\d+h)?$/, "must be a duration like 30d, 2w, 6m, 1y or 1y6m")
      .refine((value) => value.length > 0, "must not be empty")
      .optional(),
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

export { type Policy, policySchema } from "./policy-schema.ts";

const s3Destination = z.strictObject({
  type: z.literal("s3"),
  bucket: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      "must be a valid S3 bucket name (3-63 lower-case letters, digits, . and -)",
    ),
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

/** Every field optional; S3 keys left out keep the stored ones. */
export const updateJobInputSchema = z.strictObject({
  jobId: z.uuid(),
  changes: z.strictObject(jobFields).partial(),
});
export type UpdateJobInput = z.infer<typeof updateJobInputSchema>;
