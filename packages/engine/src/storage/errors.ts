// Storage failures carry a code the layers above act on (NOT_FOUND ends a lookup, ALREADY_EXISTS means a
// write-once file is there, STORAGE_UNAVAILABLE is worth another try) and a `transient` flag the retry wrapper
// reads, so the question "is this worth retrying?" is answered in one place: classifyError below.

export type StorageErrorCode =
  /** The file does not exist. */
  | "NOT_FOUND"
  /** A write-once file exists already. */
  | "ALREADY_EXISTS"
  /** The requested range does not lie within the file. */
  | "INVALID_RANGE"
  /** Fewer bytes arrived than the storage announced: a cut connection, worth retrying. */
  | "TRUNCATED_READ"
  /** A streamed body did not have the size the caller declared. */
  | "SIZE_MISMATCH"
  /** The S3 bucket does not exist. */
  | "BUCKET_NOT_FOUND"
  /** Credentials are missing, wrong, or lack a permission. */
  | "ACCESS_DENIED"
  /** The disk or quota is full. */
  | "NO_SPACE"
  /** Not a file name this layout can store (empty, a path, reserved). */
  | "INVALID_HANDLE"
  /** A repository location (such as `s3:host/bucket`) that cannot be parsed. */
  | "INVALID_LOCATION"
  /** The storage could not be reached or failed for now: network errors, timeouts, 5xx, throttling. */
  | "STORAGE_UNAVAILABLE"
  /** Any other refusal by the storage; retrying will not help. */
  | "STORAGE_ERROR";

const transientCodes: ReadonlySet<StorageErrorCode> = new Set(["TRUNCATED_READ", "STORAGE_UNAVAILABLE"]);

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** Worth another attempt (the retry wrapper's question). */
  readonly transient: boolean;
  /** The HTTP status when the storage speaks HTTP. */
  readonly status: number | undefined;

  constructor(
    code: StorageErrorCode,
    message: string,
    options: { cause?: unknown; transient?: boolean; status?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StorageError";
    this.code = code;
    this.transient = options.transient ?? transientCodes.has(code);
    this.status = options.status;
  }
}

export function isStorageError(error: unknown, code?: StorageErrorCode): error is StorageError {
  return error instanceof StorageError && (code === undefined || error.code === code);
}

/** Whether an error means the caller's AbortSignal fired (never retried, never wrapped). */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "AbortedError");
}

// Node's socket and DNS failures that say "the network or the peer hiccupped", not "the request is wrong".
const transientErrnos = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EADDRNOTAVAIL",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "EAGAIN",
  "EBUSY",
  "EMFILE",
  "ENFILE",
  "EIO",
]);

// S3 error names that mean "slow down" or "try again", whatever the status says (some servers send 400 for them).
const transientNames = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "BandwidthLimitExceeded",
  "RequestTimeout",
  "RequestTimeoutException",
  "RequestTimeTooSkewed",
  "InternalError",
  "ServiceUnavailable",
  "TimeoutError",
  "IncompleteBody",
]);

const transientMessages = [/socket hang up/i, /other side closed/i, /premature close/i];

type ErrorShape = {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
};

/** The HTTP status an error carries (AWS SDK's `$metadata`, or our own StorageError). */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof StorageError) return error.status;
  const status = (error as ErrorShape | null)?.$metadata?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * Transient or permanent. Transient: network errors (ECONNRESET, EPIPE, socket hang up, timeouts), 5xx except 501,
 * 408, 429 and S3's throttling names (SlowDown), truncated reads. Permanent: everything else, in particular
 * NOT_FOUND, 4xx (auth included) and aborts.
 */
export function classifyError(error: unknown): "transient" | "permanent" {
  if (isAbortError(error)) return "permanent";
  if (error instanceof StorageError) return error.transient ? "transient" : "permanent";
  const shape = error as ErrorShape | null;
  if (shape === null || typeof shape !== "object") return "permanent";
  if (typeof shape.code === "string" && transientErrnos.has(shape.code)) return "transient";
  if (typeof shape.name === "string" && transientNames.has(shape.name)) return "transient";
  if (shape.$retryable) return "transient";
  const status = httpStatusOf(error);
  if (status !== undefined) {
    if (status === 408 || status === 429 || (status >= 500 && status !== 501)) return "transient";
    return "permanent";
  }
  if (typeof shape.message === "string" && transientMessages.some((pattern) => pattern.test(shape.message as string)))
    return "transient";
  if (shape.cause !== undefined && shape.cause !== error) return classifyError(shape.cause);
  return "permanent";
}
