import type {
  ChunkConsumer,
  FileHandle,
  LoadOptions,
  SaveData,
  SaveOptions,
  SignalOptions,
  StorageBackend,
} from "./backend.ts";
import { StorageError } from "./errors.ts";
import { createLocalLayout, LocalBackend } from "./local.ts";
import { withRetry } from "./retry.ts";
import type { S3Backend } from "./s3.ts";
import { parseS3Location } from "./s3-location.ts";

// A repository location as users write it (restic's syntax): a folder path, or `s3:…` with the credentials from
// the environment variables restic and the AWS tools use. Every backend comes wrapped in retries. The AWS SDK is
// loaded only when an S3 repository is first used: it costs a local backup ~0.1 s and ~20 MiB otherwise.

export type StorageEnvironment = {
  AWS_ACCESS_KEY_ID?: string | undefined;
  AWS_SECRET_ACCESS_KEY?: string | undefined;
  AWS_SESSION_TOKEN?: string | undefined;
  AWS_DEFAULT_REGION?: string | undefined;
  AWS_REGION?: string | undefined;
};

async function s3Backend(location: string, env: StorageEnvironment): Promise<S3Backend> {
  const parsed = parseS3Location(location);
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new StorageError("ACCESS_DENIED", "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither");
  }
  const region = parsed.region ?? env.AWS_DEFAULT_REGION ?? env.AWS_REGION;
  const { S3Backend } = await import("./s3.ts");
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

/** An S3 backend created on first use. */
class DeferredS3Backend implements StorageBackend {
  readonly #location: string;
  readonly #backend: () => Promise<S3Backend>;
  #created: Promise<S3Backend> | null = null;

  constructor(location: string, env: StorageEnvironment) {
    parseS3Location(location); // a malformed location fails here, at once
    this.#location = location;
    this.#backend = () => s3Backend(location, env);
  }

  #inner(): Promise<S3Backend> {
    this.#created ??= this.#backend();
    return this.#created;
  }

  location(): string {
    return this.#location;
  }
  async save(handle: FileHandle, data: SaveData, options?: SaveOptions): Promise<void> {
    return (await this.#inner()).save(handle, data, options);
  }
  async load(handle: FileHandle, options?: LoadOptions): Promise<Buffer> {
    return (await this.#inner()).load(handle, options);
  }
  async loadChunks(handle: FileHandle, consume: ChunkConsumer, options?: LoadOptions): Promise<void> {
    return (await this.#inner()).loadChunks(handle, consume, options);
  }
  async stat(handle: FileHandle, options?: SignalOptions) {
    return (await this.#inner()).stat(handle, options);
  }
  async *list(type: Parameters<StorageBackend["list"]>[0], options?: SignalOptions) {
    yield* (await this.#inner()).list(type, options);
  }
  async remove(handle: FileHandle, options?: SignalOptions): Promise<void> {
    return (await this.#inner()).remove(handle, options);
  }
  async close(): Promise<void> {
    if (this.#created) await (await this.#created).close();
  }
}

function checkLocation(location: string): void {
  if (!location) throw new StorageError("INVALID_LOCATION", "no repository given: pass --repo or set E3_REPOSITORY");
}

export function openStorage(location: string, env: StorageEnvironment = process.env): StorageBackend {
  checkLocation(location);
  return withRetry(location.startsWith("s3:") ? new DeferredS3Backend(location, env) : new LocalBackend(location));
}

/** Storage for a new repository: the folder layout created, or the bucket when it does not exist yet. */
export async function prepareStorage(location: string, env: StorageEnvironment = process.env): Promise<StorageBackend> {
  checkLocation(location);
  if (!location.startsWith("s3:")) {
    await createLocalLayout(location);
    return withRetry(new LocalBackend(location));
  }
  const backend = await s3Backend(location, env);
  await backend.createBucketIfMissing();
  return withRetry(backend);
}
