import { randomBytes } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { S3Backend, type S3BackendOptions } from "../src/storage/s3.ts";

// The real S3 server the storage tests run against (scripts/services.sh starts it). No variables, no run: the
// suite fails saying how to start it, it never skips, so a green run always means a real server was exercised.

export type S3TestEnv = { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string };

export function s3TestEnv(): S3TestEnv {
  const names = ["E3_TEST_S3_ENDPOINT", "E3_TEST_S3_ACCESS_KEY", "E3_TEST_S3_SECRET_KEY", "E3_TEST_S3_REGION"] as const;
  const missing = names.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(", ")} not set: the S3 storage tests need a real S3 server. Start it with ` +
        '`bash scripts/services.sh up && eval "$(bash scripts/services.sh env)"`, then run the tests again.',
    );
  }
  return {
    endpoint: process.env.E3_TEST_S3_ENDPOINT!,
    accessKeyId: process.env.E3_TEST_S3_ACCESS_KEY!,
    secretAccessKey: process.env.E3_TEST_S3_SECRET_KEY!,
    region: process.env.E3_TEST_S3_REGION!,
  };
}

/** A lower-case bucket name unique to one test (S3: 3-63 characters, letters, digits and hyphens). */
export function bucketName(label: string): string {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return `e3-${slug}-${randomBytes(5).toString("hex")}`;
}

export function testBackend(env: S3TestEnv, options: Partial<S3BackendOptions> & { bucket: string }): S3Backend {
  return new S3Backend({
    endpoint: env.endpoint,
    region: env.region,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    ...options,
  });
}

/** Aborts open uploads, empties and deletes a test bucket, so repeated runs do not fill the server's disk. */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const upload of uploads.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
  }
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const objects = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
    if (objects.length > 0) {
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/**
 * For suites that hand buckets to other programs (the CLI, restic): names fresh buckets, and removes them when the
 * suite ends. `storageEnv` holds the AWS_* variables those programs read.
 */
export function s3TestBuckets(afterAll: (cleanup: () => Promise<void>) => void) {
  const env = s3TestEnv();
  const client = new S3Client({
    endpoint: env.endpoint,
    region: env.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
  });
  const buckets: string[] = [];
  afterAll(async () => {
    for (const bucket of buckets) await removeBucket(client, bucket);
    client.destroy();
  });
  return {
    env,
    storageEnv: {
      AWS_ACCESS_KEY_ID: env.accessKeyId,
      AWS_SECRET_ACCESS_KEY: env.secretAccessKey,
      AWS_DEFAULT_REGION: env.region,
    },
    /** A new bucket name, removed with everything in it after the suite. */
    bucket(label: string): string {
      const name = bucketName(label);
      buckets.push(name);
      return name;
    },
  };
}
