import { StorageError } from "../storage/errors.ts";
import type { StorageEnvironment } from "../storage/open.ts";
import { FolderTarget } from "./folder-target.ts";
import { S3Target, type S3TargetOptions } from "./s3-target.ts";
import type { SyncTarget } from "./target.ts";

// A sync destination as users write it: `s3:http[s]://host[:port]/bucket[/prefix]` with the AWS_* variables the
// repository commands read, or a folder.

export function openSyncTarget(
  destination: string,
  env: StorageEnvironment = process.env,
  options: Omit<S3TargetOptions, "location" | "credentials" | "region"> = {},
): SyncTarget {
  if (!destination)
    throw new StorageError("INVALID_LOCATION", "no destination given: pass s3:…/bucket/prefix or a folder");
  if (!destination.startsWith("s3:")) return new FolderTarget(destination);
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey))
    throw new StorageError("ACCESS_DENIED", "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither");
  const region = env.AWS_DEFAULT_REGION ?? env.AWS_REGION;
  return new S3Target({
    ...options,
    location: destination,
    ...(region ? { region } : {}),
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  });
}
