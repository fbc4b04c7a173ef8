import { z } from "zod";

// The agent REST contract (`POST /agent/<endpoint>`): every request and response body, shared by the server's
// handlers and by apps/agent, which imports this module and nothing else of the server. Unknown fields are refused
// (strict objects) so a typo in an agent build fails loudly instead of being ignored.

export const agentHeaders = { id: "x-agent-id", token: "x-agent-token" } as const;

const uuid = z.uuid();
// PostgreSQL text and jsonb cannot hold NUL characters; refusing them here turns a would-be 500 into a clear 400.
const noNul = (value: string) => !value.includes("\u0000");
const nulMessage = "must not contain NUL characters";
const text = (max: number) => z.string().max(max).refine(noNul, nulMessage);
const shortText = (max: number) => text(max).min(1);
const timestamp = z.iso.datetime({ offset: true });
const sequence = z.number().int().nonnegative().max(2_147_483_647);
const jsonObject = z
  .record(z.string().max(200), z.unknown())
  // JSON.stringify writes a NUL as the six characters \u0000.
  .refine((value) => !JSON.stringify(value).includes("\\u0000"), nulMessage)
  .refine((value) => JSON.stringify(value).length <= 256 * 1024, "must be at most 256 KiB of JSON");
const runStatusReported = z.enum(["running", "success", "warning", "failed", "cancelled"]);
export const logLevelSchema = z.enum(["debug", "info", "warn", "error"]);

// ---------------------------------------------------------------------------------------------------------------
// enroll

export const enrollRequestSchema = z.strictObject({
  token: shortText(200),
  hostname: shortText(255),
  name: shortText(255).optional(),
  os: shortText(100).optional(),
  arch: shortText(50).optional(),
  version: shortText(50).optional(),
});
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export const enrollResponseSchema = z.strictObject({
  agentId: uuid,
  /** Shown once; the server keeps only its hash. */
  agentToken: z.string(),
  tenantId: uuid,
});
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// next_run

export const nextRunRequestSchema = z.strictObject({
  hostname: shortText(255).optional(),
  version: shortText(50).optional(),
});

export const runDestinationSchema = z.strictObject({
  type: z.enum(["s3", "local"]),
  bucket: z.string().nullable(),
  prefix: z.string().nullable(),
  localPath: z.string().nullable(),
  endpoint: z.string().nullable(),
  region: z.string().nullable(),
  accessKeyId: z.string().nullable(),
  secretAccessKey: z.string().nullable(),
  bucketAutoCreate: z.boolean(),
});
export type RunDestination = z.infer<typeof runDestinationSchema>;

export const runAssignmentSchema = z.strictObject({
  runId: uuid,
  jobId: uuid,
  jobName: z.string(),
  runType: z.enum(["backup", "restore", "maintenance_quick", "maintenance_full"]),
  engine: z.enum(["backup", "sync"]),
  /** True when this is the agent's own in-progress run handed back after a restart (reclaim). */
  reclaimed: z.boolean(),
  source: z.strictObject({
    paths: z.array(z.string()),
    includeGlob: z.string().nullable(),
    excludeGlob: z.string().nullable(),
  }),
  destination: runDestinationSchema,
  repository: z.strictObject({
    encryptionMode: z.enum(["managed", "agent"]),
    /** The repository password in managed mode; null in agent mode (the agent's key store holds it). */
    password: z.string().nullable(),
  }),
  compression: z.enum(["auto", "off", "max"]),
  schedule: z.unknown(),
  retention: z.unknown(),
  policy: z.unknown(),
  bandwidthLimitKbps: z.number().int().nullable(),
  localBandwidthLimitKbps: z.number().int().nullable(),
  parallelism: z.number().int().nullable(),
  /** How often the agent must call update_run while the run is in progress. */
  heartbeatSeconds: z.number().int().positive(),
});
export type RunAssignment = z.infer<typeof runAssignmentSchema>;

export const nextRunResponseSchema = z.strictObject({ run: runAssignmentSchema.nullable() });
export type NextRunResponse = z.infer<typeof nextRunResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// update_run

export const progressSchema = z.strictObject({
  phase: z.enum(["scanning", "uploading", "finalizing", "restoring", "checking", "pruning", "syncing"]),
  filesDone: z.number().int().nonnegative().optional(),
  filesTotal: z.number().int().nonnegative().optional(),
  bytesDone: z.number().nonnegative().optional(),
  bytesTotal: z.number().nonnegative().optional(),
  bytesPerSecond: z.number().nonnegative().optional(),
  etaSeconds: z.number().nonnegative().optional(),
  currentFiles: z.array(text(4096)).max(16).optional(),
  errors: z.number().int().nonnegative().optional(),
});
export type RunProgress = z.infer<typeof progressSchema>;

export const reportedSnapshotSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{64}$/, "must be a 64-digit lower-case hex snapshot id"),
  time: timestamp,
  hostname: shortText(255),
  paths: z.array(text(4096)).max(1000),
  tags: z.array(text(255)).max(100).default([]),
  fileCount: z.number().int().nonnegative().optional(),
  sizeBytes: z.number().nonnegative().optional(),
  addedBytes: z.number().nonnegative().optional(),
  summary: jsonObject.optional(),
});

export const updateRunRequestSchema = z.strictObject({
  runId: uuid,
  status: runStatusReported.optional(),
  progress: progressSchema.optional(),
  stats: jsonObject.optional(),
  logRef: text(1000).optional(),
  snapshot: reportedSnapshotSchema.optional(),
  /** Snapshots the job's retention removed from the repository; the catalog marks them forgotten. */
  forgottenSnapshots: z
    .array(z.string().regex(/^[0-9a-f]{64}$/, "must be a 64-digit lower-case hex snapshot id"))
    .max(10_000)
    .optional(),
  errorCode: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{1,63}$/, "must be an upper-case code like SOURCE_UNREADABLE")
    .optional(),
  errorMessage: text(10_000).optional(),
});
export type UpdateRunRequest = z.infer<typeof updateRunRequestSchema>;

export const updateRunResponseSchema = z.strictObject({
  status: z.enum(["queued", "starting", "running", "success", "warning", "failed", "cancelled"]),
  /** True when someone asked to cancel the run; the agent should stop and report `cancelled`. */
  cancelRequested: z.boolean(),
});
export type UpdateRunResponse = z.infer<typeof updateRunResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// push_events, push_logs

export const runEventSchema = z.strictObject({
  seq: sequence,
  ts: timestamp,
  type: z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/, "must be an upper-case event type like BACKUP_STARTING"),
  level: logLevelSchema.default("info"),
  message: text(10_000).optional(),
  data: jsonObject.optional(),
});
export type RunEventInput = z.infer<typeof runEventSchema>;

export const pushEventsRequestSchema = z.strictObject({
  runId: uuid,
  events: z.array(runEventSchema).min(1).max(500),
});

export const runLogLineSchema = z.strictObject({
  seq: sequence,
  ts: timestamp,
  level: logLevelSchema,
  message: text(10_000),
  fields: jsonObject.optional(),
});
export type RunLogLineInput = z.infer<typeof runLogLineSchema>;

export const pushLogsRequestSchema = z.strictObject({
  runId: uuid,
  logs: z.array(runLogLineSchema).min(1).max(1000),
});

export const pushResponseSchema = z.strictObject({
  accepted: z.number().int(),
  /** Items whose sequence number the server already had (a retried batch); they are not stored twice. */
  duplicates: z.number().int(),
});
export type PushResponse = z.infer<typeof pushResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// commands

export const commandTypeSchema = z.enum([
  "cancel",
  "maintenance_quick",
  "maintenance_full",
  "restore",
  "browse",
  "mount",
]);

export const pollCommandsRequestSchema = z.strictObject({ runId: uuid });

export const agentCommandSchema = z.strictObject({
  commandId: uuid,
  type: commandTypeSchema,
  /** The run the command reports through (restore/maintenance) or acts on (cancel). */
  runId: uuid.nullable(),
  payload: z.unknown(),
  /** Everything needed to reach the job's repository, for commands tied to a job. */
  job: runAssignmentSchema.omit({ runId: true, runType: true, reclaimed: true }).nullable(),
});
export type AgentCommand = z.infer<typeof agentCommandSchema>;

export const pollCommandsResponseSchema = z.strictObject({ commands: z.array(agentCommandSchema) });
export type PollCommandsResponse = z.infer<typeof pollCommandsResponseSchema>;

export const pollPendingCommandsRequestSchema = z.strictObject({
  /** Only these kinds (an agent busy with a run asks for `browse` alone); every kind but cancel when omitted. */
  types: z
    .array(commandTypeSchema.exclude(["cancel"]))
    .min(1)
    .max(5)
    .optional(),
});

export const completeCommandRequestSchema = z.strictObject({
  commandId: uuid,
  status: z.enum(["running", "completed", "failed"]),
  result: jsonObject.optional(),
  errorMessage: text(10_000).optional(),
});

export const completeCommandResponseSchema = z.strictObject({
  status: z.enum(["pending", "delivered", "running", "completed", "failed", "expired"]),
});

// ---------------------------------------------------------------------------------------------------------------
// browse commands: the payload the portal queues and the result the agent answers with (complete_command's
// `result`). The portal parses results with the same schema.

const snapshotIdSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be a 64-digit lower-case hex snapshot id");
const browseLimit = (max: number, fallback: number) => z.number().int().min(1).max(max).default(fallback);
/** Opaque: the agent hands it out as `nextCursor` and takes it back to continue a listing. */
const browseCursor = text(4096).nullable().default(null);

export const browseCommandPayloadSchema = z.discriminatedUnion("kind", [
  /** A folder on the agent's own disks (the job wizard's source picker); "" lists the roots. */
  z.strictObject({
    kind: z.literal("local"),
    path: text(4096).default(""),
    cursor: browseCursor,
    limit: browseLimit(1000, 500),
  }),
  /** One folder of a snapshot of the command's job (the restore wizard). */
  z.strictObject({
    kind: z.literal("snapshot"),
    snapshotId: snapshotIdSchema,
    path: text(4096).default("/"),
    cursor: browseCursor,
    limit: browseLimit(1000, 500),
  }),
  /** Entries whose name (or, with a "/", path) matches a glob, across the job's snapshots (all when none given). */
  z.strictObject({
    kind: z.literal("search"),
    pattern: shortText(1024),
    snapshotIds: z.array(snapshotIdSchema).max(1000).default([]),
    /** Match names regardless of case (what someone typing into a search box expects). */
    caseInsensitive: z.boolean().default(true),
    /** Each path once, from the newest snapshot holding it, instead of once per snapshot. */
    distinctPaths: z.boolean().default(false),
    cursor: browseCursor,
    limit: browseLimit(1000, 200),
  }),
  /** One path in every snapshot of the job that has it, newest first. */
  z.strictObject({ kind: z.literal("versions"), path: shortText(4096), limit: browseLimit(1000, 200) }),
]);
export type BrowseCommandPayload = z.infer<typeof browseCommandPayloadSchema>;

export const browseEntrySchema = z.strictObject({
  name: z.string(),
  /** Absolute: the agent's own path (local) or the path inside the snapshot. */
  path: z.string(),
  type: z.enum(["dir", "file", "symlink", "other"]),
  size: z.number().nonnegative(),
  /** Null when the file system or snapshot gives none that parses. */
  mtime: timestamp.nullable(),
});
export type BrowseEntry = z.infer<typeof browseEntrySchema>;

const snapshotRef = { snapshotId: snapshotIdSchema, snapshotTime: timestamp };

export const browseCommandResultSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("local"),
    /** The folder listed; "" for the roots. */
    path: z.string(),
    /** The folder above, "" from a root, null at the roots. */
    parent: z.string().nullable(),
    /** Where browsing starts: "/" on Linux and macOS, the drive letters ("C:\\") on Windows. */
    roots: z.array(z.strictObject({ path: z.string(), label: z.string() })),
    platform: z.string(),
    entries: z.array(browseEntrySchema),
    /** Entries that could not be read (listed without size and mtime). */
    unreadable: z.number().int().nonnegative(),
    nextCursor: z.string().nullable(),
  }),
  z.strictObject({
    kind: z.literal("snapshot"),
    ...snapshotRef,
    path: z.string(),
    entries: z.array(browseEntrySchema),
    nextCursor: z.string().nullable(),
  }),
  z.strictObject({
    kind: z.literal("search"),
    pattern: z.string(),
    /** Newest snapshot first, in walk order within each. */
    matches: z.array(browseEntrySchema.extend(snapshotRef)),
    /** Snapshots searched completely for this page. */
    snapshotsSearched: z.number().int().nonnegative(),
    /** More matches: pass it back as `cursor` for the next page. */
    nextCursor: z.string().nullable(),
  }),
  z.strictObject({
    kind: z.literal("versions"),
    path: z.string(),
    /**
     * Newest first: one per snapshot holding the path, plus `deleted` where it disappeared. `changed` compares the
     * content (blob ids) with the previous snapshot that held it, not the mtime.
     */
    versions: z.array(
      z.strictObject({
        ...snapshotRef,
        status: z.enum(["added", "changed", "unchanged", "deleted"]),
        changed: z.boolean(),
        /** Null for `deleted`. */
        entry: browseEntrySchema.nullable(),
      }),
    ),
    snapshotsSearched: z.number().int().nonnegative(),
    /** More versions than `limit`: the oldest were left out. */
    truncated: z.boolean(),
  }),
]);
export type BrowseCommandResult = z.infer<typeof browseCommandResultSchema>;

// ---------------------------------------------------------------------------------------------------------------
// the agent's local status page: its jobs and recent runs, and "run now"

export const listJobsRequestSchema = z.strictObject({});
export const agentJobSchema = z.strictObject({
  jobId: uuid,
  name: z.string(),
  engine: z.enum(["backup", "sync"]),
  enabled: z.boolean(),
});
export const agentRecentRunSchema = z.strictObject({
  runId: uuid,
  jobId: uuid,
  jobName: z.string(),
  runType: z.enum(["backup", "restore", "maintenance_quick", "maintenance_full"]),
  status: z.enum(["queued", "starting", "running", "success", "warning", "failed", "cancelled"]),
  trigger: z.enum(["manual", "schedule", "command"]),
  createdAt: z.iso.datetime({ offset: true }),
  startedAt: z.iso.datetime({ offset: true }).nullable(),
  finishedAt: z.iso.datetime({ offset: true }).nullable(),
  errorMessage: z.string().nullable(),
});
export const listJobsResponseSchema = z.strictObject({
  /** The agent's jobs (not deleted), by name; at most 200. */
  jobs: z.array(agentJobSchema),
  /** The agent's 20 newest runs. */
  recentRuns: z.array(agentRecentRunSchema),
});
export type ListJobsResponse = z.infer<typeof listJobsResponseSchema>;

/** "Run now" from the machine itself: one queued backup of one of the agent's own jobs, unless one is waiting. */
export const requestRunRequestSchema = z.strictObject({ jobId: uuid });
export const requestRunResponseSchema = z.strictObject({ runId: uuid, alreadyQueued: z.boolean() });
export type RequestRunResponse = z.infer<typeof requestRunResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// errors

export const agentErrorResponseSchema = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string() }),
});
export type AgentErrorResponse = z.infer<typeof agentErrorResponseSchema>;

/** Every endpoint with its request and response schema; the HTTP adapter, the OpenAPI document and the agent use it. */
export const agentEndpoints = {
  enroll: { request: enrollRequestSchema, response: enrollResponseSchema, authenticated: false },
  next_run: { request: nextRunRequestSchema, response: nextRunResponseSchema, authenticated: true },
  update_run: { request: updateRunRequestSchema, response: updateRunResponseSchema, authenticated: true },
  push_events: { request: pushEventsRequestSchema, response: pushResponseSchema, authenticated: true },
  push_logs: { request: pushLogsRequestSchema, response: pushResponseSchema, authenticated: true },
  poll_commands: { request: pollCommandsRequestSchema, response: pollCommandsResponseSchema, authenticated: true },
  poll_pending_commands: {
    request: pollPendingCommandsRequestSchema,
    response: pollCommandsResponseSchema,
    authenticated: true,
  },
  complete_command: {
    request: completeCommandRequestSchema,
    response: completeCommandResponseSchema,
    authenticated: true,
  },
  list_jobs: { request: listJobsRequestSchema, response: listJobsResponseSchema, authenticated: true },
  request_run: { request: requestRunRequestSchema, response: requestRunResponseSchema, authenticated: true },
} as const;
export type AgentEndpoint = keyof typeof agentEndpoints;
