import type { Schedule } from "@e3/api/job-schemas";
import { createJobInputSchema, type Policy, policySchema, type Retention } from "@e3/api/job-schemas";
import {
  defaultRetentionDraft,
  type RetentionDraft,
  retentionDraftErrors,
  retentionDraftFrom,
  retentionFromDraft,
} from "./retention.ts";
import {
  defaultScheduleDraft,
  draftFromSchedule,
  type ScheduleDraft,
  scheduleDraftErrors,
  scheduleFromDraft,
} from "./schedule.ts";

// The job wizard's state and its validation. Every step validates with the server's own schema (createJobInputSchema
// from @e3/api/job-schemas): the whole draft is parsed and the issues of the step's fields are kept, so the wizard
// can never accept what the server refuses, nor refuse what it accepts. Form-only checks (a time like 25:00, letters in
// a number field) come first, in the form's words.

export type JobDraft = {
  name: string;
  engine: "backup" | "sync";
  agentId: string;
  destination: {
    type: "s3" | "local";
    bucket: string;
    prefix: string;
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    bucketAutoCreate: boolean;
    path: string;
  };
  sourcePaths: string[];
  includeGlob: string;
  excludeGlob: string;
  schedule: ScheduleDraft;
  retention: RetentionDraft;
  /** The stored policy with the wizard's fields on top (fields the wizard does not show are kept as they were). */
  policy: Policy;
  compression: "auto" | "off" | "max";
  encryptionMode: "managed" | "agent";
  bandwidthLimitKbps: string;
  parallelism: string;
  notifyOn: "" | "all" | "errors" | "off";
  enabled: boolean;
};

export const wizardSteps = [
  { id: "basics", title: "Mode, agent & destination" },
  { id: "source", title: "Source" },
  { id: "schedule", title: "Schedule" },
  { id: "retention", title: "Retention & policy" },
  { id: "review", title: "Review" },
] as const;
export type WizardStepId = (typeof wizardSteps)[number]["id"];

/** Which step owns a field (the first part of its path). */
const stepOfField: Record<string, WizardStepId> = {
  name: "basics",
  engine: "basics",
  agentId: "basics",
  destination: "basics",
  sourcePaths: "source",
  includeGlob: "source",
  excludeGlob: "source",
  schedule: "schedule",
  retention: "retention",
  policy: "retention",
  compression: "retention",
  encryptionMode: "retention",
  bandwidthLimitKbps: "retention",
  localBandwidthLimitKbps: "retention",
  parallelism: "retention",
  notifyOn: "retention",
  enabled: "review",
};

export function stepOf(path: string): WizardStepId {
  return stepOfField[path.split(".")[0] ?? ""] ?? "review";
}

export function defaultDraft(options: { agentId?: string; timezone?: string } = {}): JobDraft {
  return {
    name: "",
    engine: "backup",
    agentId: options.agentId ?? "",
    destination: {
      type: "s3",
      bucket: "",
      prefix: "",
      endpoint: "",
      region: "",
      accessKeyId: "",
      secretAccessKey: "",
      bucketAutoCreate: true,
      path: "",
    },
    sourcePaths: [],
    includeGlob: "",
    excludeGlob: "",
    schedule: defaultScheduleDraft(options.timezone),
    retention: defaultRetentionDraft(),
    policy: policySchema.parse({}),
    compression: "auto",
    encryptionMode: "managed",
    bandwidthLimitKbps: "",
    parallelism: "",
    notifyOn: "",
    enabled: true,
  };
}

/** What the server keeps of a job (jobs.get), back into the form. Secrets are never sent back: they stay empty. */
export type StoredJob = {
  name: string;
  engine: "backup" | "sync";
  agentId: string;
  destType: "s3" | "local";
  destBucket: string | null;
  destPrefix: string | null;
  destEndpoint: string | null;
  destRegion: string | null;
  destLocalPath: string | null;
  bucketAutoCreate: boolean;
  sourcePaths: string[];
  localIncludeGlob: string | null;
  localExcludeGlob: string | null;
  scheduleJson: unknown;
  retentionJson: unknown;
  policyJson: unknown;
  compression: "auto" | "off" | "max";
  encryptionMode: "managed" | "agent";
  bandwidthLimitKbps: number | null;
  parallelism: number | null;
  notifyOn: "all" | "errors" | "off" | null;
  enabled: boolean;
};

export function draftFromJob(job: StoredJob, timezone?: string): JobDraft {
  const base = defaultDraft({ agentId: job.agentId, ...(timezone ? { timezone } : {}) });
  const policy = policySchema.safeParse(job.policyJson ?? {});
  return {
    ...base,
    name: job.name,
    engine: job.engine,
    destination: {
      ...base.destination,
      type: job.destType,
      bucket: job.destBucket ?? "",
      prefix: job.destPrefix ?? "",
      endpoint: job.destEndpoint ?? "",
      region: job.destRegion ?? "",
      bucketAutoCreate: job.bucketAutoCreate,
      path: job.destLocalPath ?? "",
    },
    sourcePaths: job.sourcePaths,
    includeGlob: job.localIncludeGlob ?? "",
    excludeGlob: job.localExcludeGlob ?? "",
    schedule: draftFromSchedule(job.scheduleJson as Schedule, timezone),
    retention: retentionDraftFrom(job.retentionJson as Retention | null),
    policy: policy.success ? policy.data : base.policy,
    compression: job.compression,
    encryptionMode: job.encryptionMode,
    bandwidthLimitKbps: job.bandwidthLimitKbps === null ? "" : String(job.bandwidthLimitKbps),
    parallelism: job.parallelism === null ? "" : String(job.parallelism),
    notifyOn: job.notifyOn ?? "",
    enabled: job.enabled,
  };
}

const optionalText = (value: string) => (value.trim() ? value.trim() : undefined);
const optionalNumber = (value: string) =>
  value.trim() ? (/^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN) : null;

/**
 * The draft as jobs.create takes it. Editing leaves empty key fields out, so the server keeps the stored keys.
 * Sync jobs have no snapshots, so no retention.
 */
export function inputFromDraft(draft: JobDraft) {
  const destination =
    draft.destination.type === "local"
      ? { type: "local" as const, path: draft.destination.path.trim() }
      : {
          type: "s3" as const,
          bucket: draft.destination.bucket.trim(),
          ...(optionalText(draft.destination.prefix) ? { prefix: optionalText(draft.destination.prefix) } : {}),
          ...(optionalText(draft.destination.endpoint) ? { endpoint: optionalText(draft.destination.endpoint) } : {}),
          ...(optionalText(draft.destination.region) ? { region: optionalText(draft.destination.region) } : {}),
          ...(optionalText(draft.destination.accessKeyId)
            ? { accessKeyId: optionalText(draft.destination.accessKeyId) }
            : {}),
          ...(optionalText(draft.destination.secretAccessKey)
            ? { secretAccessKey: optionalText(draft.destination.secretAccessKey) }
            : {}),
          bucketAutoCreate: draft.destination.bucketAutoCreate,
        };
  const policy: Policy = { ...draft.policy };
  if (!policy.bandwidthTimetable?.trim()) delete policy.bandwidthTimetable;
  return {
    name: draft.name.trim(),
    agentId: draft.agentId,
    engine: draft.engine,
    sourcePaths: draft.sourcePaths,
    destination,
    schedule: scheduleFromDraft(draft.schedule),
    retention: draft.engine === "sync" ? null : retentionFromDraft(draft.retention),
    policy,
    bandwidthLimitKbps: optionalNumber(draft.bandwidthLimitKbps),
    parallelism: optionalNumber(draft.parallelism),
    encryptionMode: draft.encryptionMode,
    compression: draft.compression,
    includeGlob: optionalText(draft.includeGlob) ?? null,
    excludeGlob: optionalText(draft.excludeGlob) ?? null,
    notifyOn: draft.notifyOn === "" ? null : draft.notifyOn,
    enabled: draft.enabled,
  };
}
export type JobInput = ReturnType<typeof inputFromDraft>;

export type FieldErrors = Record<string, string>;

/** Zod's words made readable in a form: "Invalid input: expected number, received NaN" → "must be a number". */
function readable(message: string): string {
  if (/expected number, received NaN/.test(message)) return "must be a whole number";
  if (/^Invalid UUID/i.test(message) || /Invalid uuid/i.test(message)) return "pick one";
  if (/^Too small: expected number to be >=?(\d+)/.test(message)) {
    return `must be at least ${/>=?(\d+)/.exec(message)?.[1]}`;
  }
  if (/^Too big: expected number to be <=?(\d+)/.test(message)) {
    return `must be at most ${/<=?(\d+)/.exec(message)?.[1]}`;
  }
  return message;
}

/**
 * Errors of every field, keyed by the field's path ("destination.bucket", "schedule.cron"). `hasStoredKeys`: an
 * edited S3 job whose keys the server already holds, so empty key fields are fine.
 */
export function validateDraft(draft: JobDraft, options: { hasStoredKeys?: boolean } = {}): FieldErrors {
  const errors: FieldErrors = {
    ...scheduleDraftErrors(draft.schedule),
    ...(draft.engine === "backup" ? retentionDraftErrors(draft.retention) : {}),
  };
  const input = inputFromDraft(draft);
  if (draft.destination.type === "s3" && !options.hasStoredKeys) {
    // The server's rule (createJobInputSchema's refinement), checked here too: zod runs it only once every other
    // field parses, and the user should see it with the rest.
    if (!draft.destination.accessKeyId.trim())
      errors["destination.accessKeyId"] = "an S3 destination needs an access key id";
    if (!draft.destination.secretAccessKey.trim()) {
      errors["destination.secretAccessKey"] = "an S3 destination needs a secret access key";
    }
  }
  if (options.hasStoredKeys && input.destination.type === "s3") {
    // Stand-ins for validation only: the server keeps the stored keys when the fields are left empty.
    input.destination = {
      accessKeyId: "stored",
      secretAccessKey: "stored",
      ...input.destination,
    };
  }
  const parsed = createJobInputSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String).join(".") || "form";
      // A form-level message for the same field wins: it speaks of what the user typed.
      if (!errors[path] && !Object.keys(errors).some((key) => key.startsWith(`${path}.`))) {
        errors[path] = readable(issue.message);
      }
    }
  }
  if (draft.engine === "backup" && draft.retention.mode === "only" && errors.retention) {
    errors.retention = "fill in at least one rule, or choose Keep everything";
  }
  return errors;
}

/** The errors that belong to one step (the review step shows them all). */
export function stepErrors(errors: FieldErrors, step: WizardStepId): FieldErrors {
  if (step === "review") return errors;
  return Object.fromEntries(Object.entries(errors).filter(([path]) => stepOf(path) === step));
}
