import { execFile } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { decodeConfig } from "../repository/config.ts";
import { openKeyFile } from "../repository/keys.ts";
import { decodeTree } from "../tree/tree-json.ts";
import { chunkBuffer, chunkStream, maxChunkSize, minChunkSize } from "./rabin.ts";

// Bit-exactness against the real restic 0.14: restic makes a repository (random polynomial), we read the
// polynomial through our own key-file and config decryption (so our scrypt, AES-CTR and Poly1305 agree with
// restic's), restic backs up a ~40 MiB file, and the ordered data blob ids of the file's node must equal the
// SHA-256s of the chunks our chunker cuts — from a whole buffer and from a file stream alike.

const run = promisify(execFile);
const password = "chunker interop";
const dir = await mkdtemp(join(tmpdir(), "e3-chunker-restic-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const restic = (...args: string[]) =>
  run("restic", ["--no-cache", "-r", join(dir, "repo"), ...args], {
    cwd: dir,
    env: { ...process.env, RESTIC_PASSWORD: password },
    maxBuffer: 64 * 1024 * 1024,
  });

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const keystream = (label: string, size: number) =>
  createCipheriv("aes-128-ctr", createHash("sha256").update(label).digest().subarray(0, 16), Buffer.alloc(16)).update(
    Buffer.alloc(size),
  );

/**
 * ~40 MiB with structure: unique pseudo-random data, the same 10 MiB again (restic stores those chunks once), a
 * 64-byte period that never cuts (8 MiB chunks), zeros (512 KiB chunks) and an odd-sized random tail.
 */
function sampleFile(polynomial: bigint): Buffer {
  const unique = keystream("unique", 14 * 1024 * 1024);
  const repeated = unique.subarray(2 * 1024 * 1024, 12 * 1024 * 1024);
  // A period none of whose 64 window fingerprints hits the split mask under this polynomial (almost any does).
  let period = keystream("period", 64);
  for (let attempt = 1; chunkBuffer(polynomial, Buffer.concat(Array(16_384).fill(period))).length > 1; attempt++) {
    period = keystream(`period ${attempt}`, 64);
  }
  const periodic = Buffer.concat(Array((9 * 1024 * 1024) / 64).fill(period));
  return Buffer.concat([unique, repeated, periodic, Buffer.alloc(3 * 1024 * 1024 + 17), keystream("tail", 3_000_001)]);
}

describe("chunker against restic 0.14", () => {
  it("cuts a 40 MiB file into exactly the data blobs restic stored, in order", async () => {
    await restic("init");
    const keysDir = join(dir, "repo", "keys");
    const [keyName] = await readdir(keysDir);
    const master = await openKeyFile(await readFile(join(keysDir, keyName!)), password);
    const { chunkerPolynomial } = decodeConfig(master, await readFile(join(dir, "repo", "config")));

    const data = sampleFile(chunkerPolynomial);
    await writeFile(join(dir, "data.bin"), data);
    await restic("backup", "data.bin");

    const [snapshot] = JSON.parse((await restic("snapshots", "--json")).stdout) as { tree: string }[];
    const tree = decodeTree(Buffer.from((await restic("cat", "blob", snapshot!.tree)).stdout));
    const resticContent = tree.find((node) => node.name.toString() === "data.bin")!.content!;

    const chunks = chunkBuffer(chunkerPolynomial, data);
    const ours = chunks.map((c) => sha256(data.subarray(c.offset, c.offset + c.length)));
    expect(ours).toEqual(resticContent);

    // The structure did what it should: some chunks repeat, the periodic part hit the 8 MiB maximum, the zeros
    // the 512 KiB minimum — so cuts by content, by maximum and by minimum were all compared.
    expect(new Set(ours).size).toBeLessThan(ours.length);
    expect(chunks.some((c) => c.length === maxChunkSize)).toBe(true);
    expect(chunks.filter((c) => c.length === minChunkSize).length).toBeGreaterThanOrEqual(4);

    // And every distinct id is a data blob restic stored.
    const blobs = (await restic("list", "blobs")).stdout.trim().split("\n");
    const dataBlobs = new Set(blobs.filter((line) => line.startsWith("data ")).map((line) => line.slice(5)));
    expect(dataBlobs).toEqual(new Set(ours));

    // Streaming from the file in odd-sized reads gives the same chunks.
    const streamed: string[] = [];
    const stream = createReadStream(join(dir, "data.bin"), { highWaterMark: 65_537 });
    for await (const chunk of chunkStream(stream, chunkerPolynomial)) streamed.push(sha256(chunk.data));
    expect(streamed).toEqual(resticContent);
  });
});
