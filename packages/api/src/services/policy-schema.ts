import { z } from "zod";

// A job's policy (policy_json): what the portal's wizard edits, the API stores and the agent applies. One schema for
// all three, zod only (the agent imports it as @e3/api/policy without the rest of the API). Every field is optional
// with a safe default, so a policy saved by an older portal still parses; the agent reads it with unknown fields
// stripped and named in the run's log, so a newer portal's additions do not stop an older agent.

export const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine((value) => !value.includes("\u0000"), "must not contain NUL characters");

/**
 * A command the agent runs before or after the backup, through the system shell (sh -c, or cmd /d /s /c on
 * Windows), killed after `timeoutSeconds`. Runs only where the agent's local config sets allowJobCommands: the
 * portal alone can never make an agent run a command.
 */
export const commandHookSchema = z.strictObject({
  command: text(4096).min(1),
  timeoutSeconds: z.number().int().min(1).max(86_400).default(300),
});
export type CommandHook = z.infer<typeof commandHookSchema>;

/** Engine options (policy_json). Pre/post commands run only where the agent's local config allows them. */
export const policySchema = z.strictObject({
  /** Skip the contents of folders marked with a valid CACHEDIR.TAG (restic --exclude-caches). */
  excludeCaches: z.boolean().default(true),
  /** Leave out files larger than this (restic --exclude-larger-than). */
  excludeLargerThanBytes: z.number().int().positive().optional(),
  /** Do not descend into other file systems below the sources (restic --one-file-system). */
  oneFileSystem: z.boolean().default(false),
  /** true: unreadable files are reported and skipped (run ends `warning`); false: the first one fails the run. */
  skipUnreadable: z.boolean().default(true),
  /** Target pack size (restic --pack-size). */
  packSizeMiB: z.number().int().min(4).max(128).default(16),
  /** Files read at once; the engine's default when absent. */
  readConcurrency: z.number().int().min(1).max(64).optional(),
  /** Windows: back up from a VSS shadow copy so open files are consistent. */
  useVss: z.boolean().default(false),
  /** Sync engine: `copy` never deletes at the destination, `sync` mirrors deletions. */
  syncMode: z.enum(["copy", "sync"]).default("copy"),
  transfers: z.number().int().min(1).max(64).default(4),
  checkers: z.number().int().min(1).max(64).default(8),
  /** rclone-style timetable, e.g. "Mon-Fri 08:00,512 18:00,off". */
  bandwidthTimetable: text(500).optional(),
  /** Fails the run when it fails or times out; the backup does not start. */
  preCommand: commandHookSchema.optional(),
  /** Runs after the backup, whatever its outcome; when it fails, a successful run ends `warning`. */
  postCommand: commandHookSchema.optional(),
});
export type Policy = z.infer<typeof policySchema>;

/**
 * The policy as an agent reads it from a run: fields it does not know are dropped and listed (a newer portal), the
 * rest validated as the portal does. Throws a ZodError naming the bad field otherwise.
 */
export function parseRunPolicy(value: unknown): { policy: Policy; unknownFields: string[] } {
  const input = value === null || value === undefined ? {} : value;
  const known = new Set(Object.keys(policySchema.shape));
  const unknownFields =
    typeof input === "object" && !Array.isArray(input) ? Object.keys(input).filter((key) => !known.has(key)) : [];
  return { policy: policySchema.strip().parse(input), unknownFields };
}
