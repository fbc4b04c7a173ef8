import { StorageError } from "./errors.ts";

// What an S3 server's refusal means for the layers above, in one place for both S3 clients (the SDK-based
// S3Backend and the lean S3Http of the sync engine): the S3 error name and HTTP status become a StorageError code
// with a message that names the object and says what to check.

const deniedNames = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "AllAccessDisabled",
  "AccountProblem",
]);

export type S3Failure = {
  /** The S3 error code (`NoSuchKey`, `SlowDown`) or, for network failures, the error's name. */
  name: string;
  /** The server's or the network's explanation ("" when none). */
  message: string;
  status: number | undefined;
  /** Worth another attempt (classifyError's answer for the original error). */
  transient: boolean;
  cause: unknown;
};

/** `where`: the location and the object or operation, for the message; `bucket`: named when it is missing. */
export function s3StorageError(failure: S3Failure, where: string, bucket: string): StorageError {
  const { name, message, status } = failure;
  const detail = `${name}${message && message !== name ? `: ${message}` : ""}`;
  const options = { cause: failure.cause, ...(status !== undefined ? { status } : {}) };
  if (name === "NoSuchBucket") {
    return new StorageError(
      "BUCKET_NOT_FOUND",
      `${where}: the bucket ${bucket} does not exist; create it or check the location`,
      options,
    );
  }
  if (name === "NoSuchKey" || name === "NotFound" || status === 404) {
    return new StorageError("NOT_FOUND", `${where} does not exist`, options);
  }
  if (name === "PreconditionFailed" || status === 412) {
    return new StorageError("ALREADY_EXISTS", `${where} exists already`, options);
  }
  if (name === "InvalidRange" || status === 416) {
    return new StorageError("INVALID_RANGE", `${where}: the range lies outside the object`, options);
  }
  if (deniedNames.has(name) || status === 401 || status === 403) {
    return new StorageError(
      "ACCESS_DENIED",
      `${where}: ${detail} (HTTP ${status ?? "?"}); check the access key, the secret and the bucket's policy`,
      options,
    );
  }
  if (failure.transient) {
    return new StorageError("STORAGE_UNAVAILABLE", `${where}: ${detail}; the storage is unreachable or busy`, {
      ...options,
      transient: true,
    });
  }
  return new StorageError("STORAGE_ERROR", `${where}: ${detail}${status ? ` (HTTP ${status})` : ""}`, options);
}
