import type { RunDestination } from "@e3/api/agent-contract";
import {
  EngineError,
  initRepository,
  isEngineError,
  isStorageError,
  openRepository,
  openStorage,
  prepareStorage,
  type Repository,
  type StorageEnvironment,
} from "@e3/engine";

// A job's repository, from what the portal sends (destination with decrypted keys, password). Backup runs create it
// on first use (and the bucket, when the job allows it); restores only open it.

export type JobRepository = { repository: Repository; location: string; close: () => Promise<void> };

/** restic's location syntax and the AWS variables the engine's S3 backend reads. */
export function repositoryLocation(destination: RunDestination): { location: string; env: StorageEnvironment } {
  if (destination.type === "local") {
    if (!destination.localPath) {
      throw new EngineError(
        "INVALID_ARGUMENT",
        "the job's local destination has no folder; edit the job in the portal",
      );
    }
    return { location: destination.localPath, env: {} };
  }
  if (!destination.endpoint) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      "the job has no S3 endpoint: set one on the job or the portal's agent S3 endpoint setting",
    );
  }
  if (!destination.bucket) throw new EngineError("INVALID_ARGUMENT", "the job's S3 destination has no bucket");
  const prefix = destination.prefix?.replace(/^\/+|\/+$/g, "");
  const endpoint = destination.endpoint.replace(/\/+$/, "");
  return {
    location: `s3:${endpoint}/${destination.bucket}${prefix ? `/${prefix}` : ""}`,
    env: {
      AWS_ACCESS_KEY_ID: destination.accessKeyId ?? undefined,
      AWS_SECRET_ACCESS_KEY: destination.secretAccessKey ?? undefined,
      // S3-compatible services mostly ignore the region but the signature needs one.
      AWS_DEFAULT_REGION: destination.region ?? "us-east-1",
    },
  };
}

export async function openJobRepository(
  destination: RunDestination,
  password: string,
  options: { create: boolean; signal?: AbortSignal },
): Promise<JobRepository> {
  const { location, env } = repositoryLocation(destination);
  const storage = openStorage(location, env);
  const close = () => storage.close().catch(() => {});
  try {
    const repository = await openRepository(storage, password, options.signal ? { signal: options.signal } : {});
    return { repository, location, close };
  } catch (error) {
    const missing = isEngineError(error, "NOT_A_REPOSITORY") || isStorageError(error, "BUCKET_NOT_FOUND");
    if (!options.create || !missing) {
      await close();
      throw error;
    }
  }
  await close();
  // First run: a local folder gets restic's layout; a bucket is created only when the job says so.
  const fresh =
    destination.type === "local" || destination.bucketAutoCreate
      ? await prepareStorage(location, env)
      : openStorage(location, env);
  const closeFresh = () => fresh.close().catch(() => {});
  try {
    return { repository: await initRepository(fresh, password), location, close: closeFresh };
  } catch (error) {
    // Another machine of the same job created it a moment ago.
    if (isEngineError(error, "REPOSITORY_EXISTS")) {
      return { repository: await openRepository(fresh, password), location, close: closeFresh };
    }
    await closeFresh();
    throw error;
  }
}
