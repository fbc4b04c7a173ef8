/**
 * Error codes the engine throws; callers (agent, CLI, API) map them to exit codes, HTTP statuses and messages.
 * Every message says what went wrong and, where there is one, what to do next.
 */
export type EngineErrorCode =
  /** Authentication of encrypted data failed: damaged, or encrypted with another key (restic design: MAC first). */
  | "MAC_MISMATCH"
  /** The password does not open a key file. */
  | "WRONG_PASSWORD"
  /** Encrypted data that cannot even be checked: too short, all-zero IV, unknown encoding. */
  | "INVALID_CIPHERTEXT"
  /** Key material of the wrong size, all zero, or JSON that is not a restic key. */
  | "INVALID_KEY"
  | "INVALID_CONFIG"
  | "INVALID_KEY_FILE"
  | "INVALID_POLYNOMIAL"
  /** A tree blob or node that does not follow restic's tree format. */
  | "INVALID_TREE"
  /** No config file where a repository was expected. */
  | "NOT_A_REPOSITORY"
  /** `init` on a storage that already holds a repository. */
  | "REPOSITORY_EXISTS"
  /** Another process holds a conflicting lock (restic's lock protocol). */
  | "REPO_LOCKED"
  /** The repository lost data or disagrees with itself (missing packs or blobs, a pack unlike its index). */
  | "REPOSITORY_DAMAGED"
  /** No snapshot matches the given id or prefix, or the prefix is ambiguous. */
  | "SNAPSHOT_NOT_FOUND"
  /** A path that does not exist in a snapshot. */
  | "PATH_NOT_FOUND"
  /** Data the index names is missing from the repository. */
  | "BLOB_NOT_FOUND"
  /** A restore or backup argument that cannot be honoured (a path escaping the target, a bad pattern). */
  | "INVALID_ARGUMENT"
  /** A retention plan that would remove every snapshot of a group; applied only when forced. */
  | "RETENTION_REMOVES_ALL"
  /** The key (password) that opened the repository cannot be removed: it is in use, and perhaps the last one. */
  | "KEY_IN_USE"
  /** No key file matches the given id or prefix, or the prefix is ambiguous. */
  | "KEY_NOT_FOUND"
  /** The folder to sync from cannot be read (missing, not a folder, no permission). */
  | "SOURCE_UNREADABLE"
  /** A sync refused to delete at the destination (an empty source facing a full destination). */
  | "DELETE_REFUSED";

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EngineError";
    this.code = code;
  }
}

/** True when `error` is an EngineError, optionally with the given code. */
export function isEngineError(error: unknown, code?: EngineErrorCode): error is EngineError {
  return error instanceof EngineError && (code === undefined || error.code === code);
}
