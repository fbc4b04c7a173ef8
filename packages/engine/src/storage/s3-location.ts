import { posix } from "node:path";
import { StorageError } from "./errors.ts";

// restic's repository syntax for S3, parsed without loading the AWS SDK (only a backend that talks to S3 needs it).

export type S3Location = {
  endpoint: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  /** Only when the host names it (`s3.<region>.amazonaws.com`). */
  region?: string;
};

/**
 * restic's repository syntax for S3 (internal/backend/s3/config.go): `s3:http[s]://host[:port]/bucket[/prefix]`,
 * and `s3:host/bucket[/prefix]` or `s3://host/bucket[/prefix]`, which mean HTTPS.
 */
export function parseS3Location(location: string): S3Location {
  let scheme: "http" | "https" = "https";
  let rest: string;
  const url = /^s3:(https?):\/\/(.*)$/.exec(location);
  if (url) {
    // Not WHATWG URL parsing: it would resolve `..` segments and silently change the bucket.
    scheme = url[1] === "http" ? "http" : "https";
    rest = url[2]!;
    if (/[@?#]/.test(rest)) throw invalidLocation(location, "credentials, queries and fragments do not belong in it");
  } else if (location.startsWith("s3://")) {
    rest = location.slice(5);
  } else if (location.startsWith("s3:")) {
    rest = location.slice(3);
  } else {
    throw invalidLocation(location, "it does not start with s3:");
  }
  const [host = "", bucket = "", ...prefixParts] = rest.split("/");
  if (!host) throw invalidLocation(location, "the host is missing");
  if (!bucket || bucket === "." || bucket === "..") throw invalidLocation(location, "the bucket name is missing");
  const prefix = normalizePrefix(prefixParts.join("/"));
  const hostname = host.replace(/:\d+$/, "").toLowerCase();
  const aws = hostname.endsWith(".amazonaws.com");
  const region = /^s3[.-]([a-z0-9-]+)\.amazonaws\.com$/.exec(hostname)?.[1];
  return {
    endpoint: `${scheme}://${host}`,
    bucket,
    prefix,
    forcePathStyle: !aws,
    ...(region ? { region } : {}),
  };
}

function invalidLocation(location: string, why: string): StorageError {
  return new StorageError(
    "INVALID_LOCATION",
    `${JSON.stringify(location)} is not an S3 location (${why}); write s3:https://host[:port]/bucket[/prefix] or s3:host/bucket[/prefix]`,
  );
}

/** As restic's path.Clean: no leading, trailing or doubled slashes, no `.` segments. */
export function normalizePrefix(prefix: string): string {
  if (!prefix) return "";
  if (prefix.split("/").includes("..")) {
    throw new StorageError("INVALID_LOCATION", `the prefix ${JSON.stringify(prefix)} must not contain ".."`);
  }
  return posix.normalize(`/${prefix}`).replace(/^\/+|\/+$/g, "");
}
