import type { StorageBackend } from "./backend.ts";
import { StorageError } from "./errors.ts";
import { createLocalLayout, LocalBackend } from "./local.ts";
import { withRetry } from "./retry.ts";
import { parseS3Location, S3Backend } from "./s3.ts";

// A repository location as users write it (restic's syntax): a folder path, or `s3:…` with the credentials from
// the environment variables restic and the AWS tools use. Every backend comes wrapped in retries.

export type StorageEnvironment = {
  AWS_ACCESS_KEY_ID?: string | undefined;
  AWS_SECRET_ACCESS_KEY?: string | undefined;
  AWS_SESSION_TOKEN?: string | undefined;
  AWS_DEFAULT_REGION?: string | undefined;
  AWS_REGION?: string | undefined;
};

function s3Backend(location: string, env: StorageEnvironment): S3Backend {
  const parsed = parseS3Location(location);
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new StorageError("ACCESS_DENIED", "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither");
  }
  const region = parsed.region ?? env.AWS_DEFAULT_REGION ?? env.AWS_REGION;
  return new S3Backend({
    bucket: parsed.bucket,
    prefix: parsed.prefix,
    endpoint: parsed.endpoint,
    forcePathStyle: parsed.forcePathStyle,
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

function checkLocation(location: string): void {
  if (!location) throw new StorageError("INVALID_LOCATION", "no repository given: pass --repo or set E3_REPOSITORY");
}

export function openStorage(location: string, env: StorageEnvironment = process.env): StorageBackend {
  checkLocation(location);
  return withRetry(location.startsWith("s3:") ? s3Backend(location, env) : new LocalBackend(location));
}

/** Storage for a new repository: the folder layout created, or the bucket when it does not exist yet. */
export async function prepareStorage(location: string, env: StorageEnvironment = process.env): Promise<StorageBackend> {
  checkLocation(location);
  if (!location.startsWith("s3:")) {
    await createLocalLayout(location);
    return withRetry(new LocalBackend(location));
  }
  const backend = s3Backend(location, env);
  await backend.createBucketIfMissing();
  return withRetry(backend);
}
