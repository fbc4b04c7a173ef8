import { describe, expect, it } from "vitest";
import { classifyError, StorageError } from "./errors.ts";
import { backoffDelay } from "./retry.ts";

// Which failures are worth another try, and how long to wait: pure decisions, tested by table.

const errno = (code: string, message = code) => Object.assign(new Error(message), { code });
const sdk = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe("classifyError", () => {
  const cases: [string, unknown, "transient" | "permanent"][] = [
    ["connection reset", errno("ECONNRESET"), "transient"],
    ["broken pipe", errno("EPIPE"), "transient"],
    ["connection refused", errno("ECONNREFUSED"), "transient"],
    ["socket timeout", errno("ETIMEDOUT"), "transient"],
    ["socket hang up without a code", new Error("socket hang up"), "transient"],
    ["SDK timeout", Object.assign(new Error("timed out"), { name: "TimeoutError" }), "transient"],
    ["500", sdk("InternalError", 500), "transient"],
    ["502 without a name", sdk("Unknown", 502), "transient"],
    ["503 SlowDown", sdk("SlowDown", 503), "transient"],
    ["429", sdk("TooManyRequests", 429), "transient"],
    ["408", sdk("RequestTimeout", 408), "transient"],
    ["SlowDown sent as 400", sdk("SlowDown", 400), "transient"],
    ["truncated read", new StorageError("TRUNCATED_READ", "cut"), "transient"],
    ["unavailable", new StorageError("STORAGE_UNAVAILABLE", "down"), "transient"],
    ["network error as cause", new Error("fetch failed", { cause: errno("ECONNRESET") }), "transient"],
    ["501 not implemented", sdk("NotImplemented", 501), "permanent"],
    ["404", sdk("NoSuchKey", 404), "permanent"],
    ["403 access denied", sdk("AccessDenied", 403), "permanent"],
    ["401", sdk("Unauthorized", 401), "permanent"],
    ["400 bad request", sdk("InvalidArgument", 400), "permanent"],
    ["412 precondition", sdk("PreconditionFailed", 412), "permanent"],
    ["NOT_FOUND", new StorageError("NOT_FOUND", "gone"), "permanent"],
    ["ACCESS_DENIED", new StorageError("ACCESS_DENIED", "no"), "permanent"],
    ["INVALID_RANGE", new StorageError("INVALID_RANGE", "no"), "permanent"],
    ["a StorageError marked transient", new StorageError("STORAGE_ERROR", "odd", { transient: true }), "transient"],
    ["abort", new DOMException("aborted", "AbortError"), "permanent"],
    ["disk full", errno("ENOSPC"), "permanent"],
    ["a plain bug", new TypeError("x is undefined"), "permanent"],
    ["not an error", "boom", "permanent"],
  ];
  it.each(cases)("%s", (_label, error, expected) => {
    expect(classifyError(error)).toBe(expected);
  });
});

describe("backoffDelay", () => {
  it("doubles from the base, half fixed and half jitter, up to the cap", () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, policy, 0))).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, policy, 0.999999))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffDelay(3, policy, 0.5)).toBe(300);
  });

  it("defaults to 500 ms doubling up to a minute", () => {
    expect(backoffDelay(1, {}, 1)).toBe(500);
    expect(backoffDelay(20, {}, 1)).toBe(60_000);
  });
});
