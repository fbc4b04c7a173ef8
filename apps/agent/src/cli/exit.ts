import type { StorageBackend } from "@e3/engine";

// Exit codes (restic's), the usage error and the storages to close, apart from context.ts so that main.ts has them
// without loading the engine: commands are loaded only when they run.

export const exitCodes = { ok: 0, failed: 1, incomplete: 3 } as const;

/** A mistake in how the command was called; the message is followed by a pointer to --help. */
export class UsageError extends Error {}

/** Storages opened by the command, closed when it ends so no socket keeps the process alive. */
export const opened: StorageBackend[] = [];
