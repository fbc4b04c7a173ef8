import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { expect } from "vitest";
import { S3Target, type S3TargetOptions } from "../src/sync/s3-target.ts";
import { type S3TestEnv, s3TestEnv } from "./storage-s3-env.ts";

// Shared by the sync suites: rclone 1.60 configured through environment variables against the same S3 server
// (rclone needs AWS_CA_BUNDLE removed: it fails on a bundle file it cannot use for plain http), S3 targets, and
// generated trees.

export const env: S3TestEnv = s3TestEnv();

export type RcloneRun = { status: number | null; stdout: string; stderr: string };

/** Runs rclone with the remote `e3:` pointing at the test server. */
export function rclone(args: string[]): RcloneRun {
  const environment: Record<string, string | undefined> = {
    ...process.env,
    RCLONE_CONFIG_E3_TYPE: "s3",
    RCLONE_CONFIG_E3_PROVIDER: "Other",
    RCLONE_CONFIG_E3_ENDPOINT: env.endpoint,
    RCLONE_CONFIG_E3_ACCESS_KEY_ID: env.accessKeyId,
    RCLONE_CONFIG_E3_SECRET_ACCESS_KEY: env.secretAccessKey,
    RCLONE_CONFIG_E3_REGION: env.region,
    RCLONE_CONFIG: "/dev/null",
  };
  delete environment.AWS_CA_BUNDLE;
  const result = spawnSync("rclone", args, { env: environment, encoding: "utf8", maxBuffer: 1 << 26 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The transfers, deletions and mtime updates `rclone sync --dry-run` would make (its NOTICE lines). */
export function rclonePlannedChanges(source: string, remote: string, extra: string[] = []): string[] {
  const run = rclone(["sync", "--dry-run", ...extra, source, remote]);
  if (run.status !== 0) throw new Error(`rclone sync --dry-run failed: ${run.stderr}`);
  return run.stderr.split("\n").filter((line) => /Skipped (copy|delete|update|set)/.test(line));
}

export function s3Target(bucket: string, prefix: string, options: Partial<S3TargetOptions> = {}): S3Target {
  return new S3Target({
    location: `s3:${env.endpoint}/${bucket}${prefix ? `/${prefix}` : ""}`,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    region: env.region,
    retry: { attempts: 4, baseDelayMs: 20 },
    ...options,
  });
}

export type TreeFile = { path: string; size: number; mtimeMs?: number };

/** Files of random bytes at the given paths, with fixed mtimes (with sub-millisecond parts) unless given. */
export async function makeTree(root: string, files: TreeFile[]): Promise<void> {
  for (const [index, file] of files.entries()) {
    const absolute = join(root, file.path);
    await mkdir(dirname(absolute), { recursive: true });
    await writeFile(absolute, randomBytes(file.size));
    const seconds = (file.mtimeMs ?? 1_600_000_000_000 + index * 1_234_567) / 1000 + 0.000_321;
    await utimes(absolute, seconds, seconds);
  }
}

export const MiB = 1024 * 1024;

export type InjectedFault = { status: number; code: string } | undefined;

/**
 * A proxy in front of the S3 server that records every request and can answer some itself (`inject` returns the
 * error to send, or undefined to pass the request on). Headers pass unchanged, so the client's signatures (made
 * for the proxy's host) still verify upstream.
 */
/** A piece of a request body, timed where it arrived. */
export type Arrival = { at: number; bytes: number };

/**
 * Asserts that the bytes arrived at `rate` (bytes/s) within 10 %: over the whole transfer (the first 100 ms of
 * burst and the last slice in flight are the only slack a limiter allows) and in every `windowSeconds` window.
 */
export function expectRate(
  arrivals: Arrival[],
  rate: number,
  windowSeconds: number,
): { total: number; seconds: number; observed: number } {
  const body = arrivals.filter((arrival) => arrival.bytes > 0);
  const total = body.reduce((sum, arrival) => sum + arrival.bytes, 0);
  const seconds = (body.at(-1)!.at - body[0]!.at) / 1000;
  const observed = total / (seconds + 0.1);
  expect(observed).toBeGreaterThan(rate * 0.9);
  expect(observed).toBeLessThan(rate * 1.1);
  // Never above the limit for long either: no window carries more than 10 % too much.
  const window = windowSeconds * 1000;
  for (let from = body[0]!.at; from + window <= body.at(-1)!.at; from += window / 4) {
    const inWindow = body
      .filter((arrival) => arrival.at >= from && arrival.at < from + window)
      .reduce((sum, arrival) => sum + arrival.bytes, 0);
    expect(inWindow).toBeLessThan(rate * windowSeconds * 1.1);
  }
  return { total, seconds, observed };
}

export async function s3Proxy(
  inject: (method: string, url: string) => InjectedFault = () => undefined,
  /** Called with every piece of a request body as it arrives, with its request's URL (to measure rates on the wire). */
  onBody?: (bytes: number, url: string) => void,
): Promise<{ endpoint: string; server: Server; requests: { method: string; url: string }[] }> {
  const upstream = new URL(env.endpoint);
  const requests: { method: string; url: string }[] = [];
  const server = createServer((incoming, outgoing) => {
    const method = incoming.method ?? "";
    const url = incoming.url ?? "";
    requests.push({ method, url });
    const fault = inject(method, url);
    if (fault) {
      incoming.resume();
      outgoing.writeHead(fault.status, { "content-type": "application/xml", connection: "close" });
      outgoing.end(`<?xml version="1.0"?><Error><Code>${fault.code}</Code><Message>injected</Message></Error>`);
      return;
    }
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, method, path: url, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on("error", () => outgoing.destroy());
    if (onBody) incoming.on("data", (chunk: Buffer) => onBody(chunk.byteLength, url));
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, server, requests };
}
