import {
  CreateBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { parseS3Location } from "@e3/engine/s3-location";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { openSecret } from "../secrets/envelope.ts";
import type { Context } from "../trpc.ts";
import { checkS3Endpoint, endpointRefusal, publicOnlyRequestHandler, refuseEndpoint } from "./endpoint-guard.ts";
import { bucketNameSchema } from "./job-schemas.ts";
import { requireTenantJob } from "./jobs.ts";
import { readSetting } from "./settings.ts";

// The wizard's destination step talks to the S3 server itself: test the keys, list and create buckets. The keys come
// from the form (or, when editing, from the job's sealed columns); they are used for these requests only and are
// neither stored nor logged here. Each request has a short deadline and one attempt, so a wrong endpoint answers in
// seconds instead of after the SDK's retries.

const requestTimeoutMs = 10_000;

export const s3ProbeInputSchema = z.strictObject({
  /** Empty: the provider's agent S3 endpoint setting. */
  endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  region: z.string().trim().min(1).max(64).optional(),
  accessKeyId: z.string().trim().min(1).max(256).optional(),
  secretAccessKey: z.string().trim().min(1).max(256).optional(),
  /** Editing a job: keys left empty in the form are the job's stored ones. */
  jobId: z.uuid().optional(),
});
export type S3ProbeInput = z.infer<typeof s3ProbeInputSchema>;

export const testDestinationInputSchema = s3ProbeInputSchema.extend({
  bucket: bucketNameSchema,
  prefix: z.string().max(1024).optional(),
});

type ProbeContext = Pick<Context, "db" | "keyring"> & { config?: Partial<Context["config"]> };

async function resolveClient(ctx: ProbeContext, tenantId: string, input: S3ProbeInput) {
  let accessKeyId = input.accessKeyId;
  let secretAccessKey = input.secretAccessKey;
  let endpoint = input.endpoint;
  let region = input.region;
  if (input.jobId) {
    const job = await requireTenantJob(ctx.db, tenantId, input.jobId);
    if (!accessKeyId && job.destAccessKeyEnc) {
      accessKeyId = openSecret(ctx.keyring, job.destAccessKeyEnc, "dest_access_key_enc");
    }
    if (!secretAccessKey && job.destSecretKeyEnc) {
      secretAccessKey = openSecret(ctx.keyring, job.destSecretKeyEnc, "dest_secret_key_enc");
    }
    endpoint ??= job.destEndpoint ?? undefined;
    region ??= job.destRegion ?? undefined;
  }
  const agentEndpoint = await readSetting(ctx.db, "agent_s3_endpoint");
  endpoint ??= agentEndpoint ?? undefined;
  region ??= (await readSetting(ctx.db, "agent_s3_region")) ?? "us-east-1";
  if (!endpoint) {
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: "no S3 endpoint: enter one, or ask your provider to set the agent S3 endpoint",
    });
  }
  if (!accessKeyId || !secretAccessKey) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "enter the access key id and the secret access key first" });
  }
  // Not a way into the provider's own network (SSRF): see endpoint-guard.ts.
  const verdict = await checkS3Endpoint(endpoint, {
    agentEndpoint,
    allowList: ctx.config?.E3_ALLOWED_S3_ENDPOINTS ?? [],
  });
  if (!verdict.allowed) refuseEndpoint(verdict);
  const { forcePathStyle } = parseS3Location(`s3:${endpoint.replace(/\/+$/, "")}/probe`);
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle,
    maxAttempts: 1,
    ...(verdict.trusted ? {} : { requestHandler: publicOnlyRequestHandler(requestTimeoutMs) }),
    credentials: { accessKeyId, secretAccessKey },
  });
  return { client, endpoint };
}

export type S3Problem = { code: string; message: string };

/** What went wrong talking to S3, in words that say what to fix (never the keys). */
export function describeS3Error(error: unknown, endpoint: string, bucket?: string): S3Problem {
  const name = error instanceof Error ? error.name : "";
  const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
  const cause = (error as { cause?: { code?: string } } | null)?.cause?.code ?? (error as { code?: string })?.code;
  if (name === "TimeoutError" || name === "AbortError") {
    return { code: "S3_TIMEOUT", message: `${endpoint} did not answer within ${requestTimeoutMs / 1000} s` };
  }
  if (cause === "E3_ENDPOINT_REFUSED") {
    return {
      code: "S3_ENDPOINT_REFUSED",
      message: `the S3 endpoint ${endpoint} resolved to a loopback, private or link-local address when connecting; refused`,
    };
  }
  if (cause && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|CERT_|DEPTH_ZERO|UNABLE_TO)/.test(cause)) {
    return { code: "S3_UNREACHABLE", message: `cannot reach ${endpoint} (${cause}); check the endpoint URL` };
  }
  if (["InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"].includes(name) || status === 401) {
    return { code: "S3_BAD_CREDENTIALS", message: "the access key id or the secret access key is wrong" };
  }
  if (name === "NoSuchBucket" || name === "NotFound" || status === 404) {
    return { code: "S3_BUCKET_NOT_FOUND", message: `the bucket ${bucket ?? ""} does not exist`.replace("  ", " ") };
  }
  if (name === "AccessDenied" || name === "Forbidden" || status === 403) {
    return {
      code: "S3_ACCESS_DENIED",
      message: bucket
        ? `these keys may not use the bucket ${bucket} (access denied)`
        : "these keys may not list buckets (access denied); type the bucket name instead",
    };
  }
  if (name === "BucketAlreadyExists") {
    return { code: "S3_BUCKET_TAKEN", message: `the bucket name ${bucket} is taken by another account; pick another` };
  }
  if (name === "BucketAlreadyOwnedByYou") {
    return { code: "S3_BUCKET_EXISTS", message: `the bucket ${bucket} exists already (it is yours)` };
  }
  const detail = error instanceof Error ? error.message : String(error);
  return {
    code: "S3_ERROR",
    message: `S3 answered ${name || "an error"}${status ? ` (HTTP ${status})` : ""}: ${detail}`,
  };
}

/** Each request gets its own deadline. */
const deadline = () => ({ abortSignal: AbortSignal.timeout(requestTimeoutMs) });

/**
 * Test connection: the keys work, the bucket exists (or may be created), and whether a repository is already there
 * (a `config` object under the prefix: restic's marker), so the user knows whether the first run creates or reuses one.
 */
export async function testDestination(
  ctx: ProbeContext,
  tenantId: string,
  input: z.infer<typeof testDestinationInputSchema>,
) {
  let resolved: Awaited<ReturnType<typeof resolveClient>>;
  try {
    resolved = await resolveClient(ctx, tenantId, input);
  } catch (error) {
    const refusal = endpointRefusal(error);
    if (refusal) return { ok: false as const, ...refusal };
    throw error;
  }
  const { client, endpoint } = resolved;
  const prefix = (input.prefix ?? "").replace(/^\/+|\/+$/g, "");
  try {
    // A listing rather than HEAD: its error body names the problem (HEAD answers a bare 403 for a wrong secret).
    let listing: { KeyCount?: number };
    try {
      listing = await client.send(
        new ListObjectsV2Command({ Bucket: input.bucket, Prefix: prefix ? `${prefix}/config` : "config", MaxKeys: 1 }),
        deadline(),
      );
    } catch (error) {
      const problem = describeS3Error(error, endpoint, input.bucket);
      if (problem.code !== "S3_BUCKET_NOT_FOUND") return { ok: false as const, ...problem };
      // The keys may be fine and only the bucket missing; listing buckets proves the keys where they may list.
      try {
        await client.send(new ListBucketsCommand({}), deadline());
      } catch (listError) {
        const listProblem = describeS3Error(listError, endpoint);
        if (listProblem.code !== "S3_ACCESS_DENIED") return { ok: false as const, ...listProblem };
      }
      return {
        ok: true as const,
        bucketExists: false,
        repositoryExists: false,
        message: `connected to ${endpoint}; the bucket ${input.bucket} does not exist yet (create it here, or let the first run create it)`,
      };
    }
    const repositoryExists = (listing.KeyCount ?? 0) > 0;
    return {
      ok: true as const,
      bucketExists: true,
      repositoryExists,
      message: repositoryExists
        ? `connected; a repository exists already at ${input.bucket}${prefix ? `/${prefix}` : ""} and will be reused (its password must match)`
        : `connected; the bucket ${input.bucket} is ready and the first run creates the repository`,
    };
  } finally {
    client.destroy();
  }
}

/** The buckets these keys can see, for the bucket picker. */
export async function listBuckets(ctx: ProbeContext, tenantId: string, input: S3ProbeInput) {
  const { client, endpoint } = await resolveClient(ctx, tenantId, input);
  try {
    const answer = await client.send(new ListBucketsCommand({}), deadline());
    return (answer.Buckets ?? [])
      .filter((bucket): bucket is { Name: string; CreationDate?: Date } => typeof bucket.Name === "string")
      .map((bucket) => ({ name: bucket.Name, createdAt: bucket.CreationDate ?? null }))
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch (error) {
    const problem = describeS3Error(error, endpoint);
    throw new TRPCError({ code: "BAD_REQUEST", message: problem.message, cause: error });
  } finally {
    client.destroy();
  }
}

export async function createBucket(ctx: ProbeContext, tenantId: string, input: S3ProbeInput & { bucket: string }) {
  const { client, endpoint } = await resolveClient(ctx, tenantId, input);
  try {
    await client.send(new CreateBucketCommand({ Bucket: input.bucket }), deadline());
    return { created: true, bucket: input.bucket };
  } catch (error) {
    const problem = describeS3Error(error, endpoint, input.bucket);
    if (problem.code === "S3_BUCKET_EXISTS") return { created: false, bucket: input.bucket };
    throw new TRPCError({ code: "BAD_REQUEST", message: problem.message, cause: error });
  } finally {
    client.destroy();
  }
}
