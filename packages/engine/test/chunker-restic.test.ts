import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { zstdDecompressSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { chunkLengths } from "../src/chunker/rabin.ts";
import { type CryptoKey, open } from "../src/crypto/seal.ts";
import { decodeConfig } from "../src/repository/config.ts";
import { parseIndex } from "../src/repository/index-file.ts";
import { openMasterKey } from "../src/repository/keys.ts";
import { decodePackHeader } from "../src/repository/pack.ts";
import { decodeUnpacked } from "../src/repository/unpacked.ts";

// Bit-exactness against the real restic: our key-file and config decryption read a repository restic created,
// our chunker cuts a file exactly where restic did (so both store the same data blobs: cross-tool dedup), and our
// index, pack-header and blob readers agree with what restic wrote.

const run = promisify(execFile);
const password = "chunker-interop";
const dir = await mkdtemp(join(tmpdir(), "e3-restic-chunker-"));
let masterKey: CryptoKey;
let fileBlobs: string[] = [];
afterAll(() => rm(dir, { recursive: true, force: true }));

const restic = (...args: string[]) =>
  run("restic", ["--no-cache", "-r", join(dir, "repo"), ...args], {
    env: { ...process.env, RESTIC_PASSWORD: password },
    maxBuffer: 64 * 1024 * 1024,
    encoding: "buffer",
  });

/**
 * Deterministic pseudo-random bytes (SHA-256 in counter mode) whose last 4 MiB repeat its first 4 MiB, so the
 * file has both unique chunks and chunks restic stores once.
 */
function sampleData(size: number): Buffer {
  const unique = size - 4 * 1024 * 1024;
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < unique; i++) blocks.push(createHash("sha256").update(`block ${i}`).digest());
  const head = Buffer.concat(blocks).subarray(0, unique);
  return Buffer.concat([head, head.subarray(0, size - unique)]);
}

describe("chunker and repository format against restic 0.14", () => {
  it("opens restic's key and config, and cuts a 24 MiB file into exactly restic's blobs", async () => {
    await restic("init");
    const keyName = (await readdir(join(dir, "repo", "keys")))[0]!;
    const key = await openMasterKey(await readFile(join(dir, "repo", "keys", keyName)), password);
    await expect(openMasterKey(await readFile(join(dir, "repo", "keys", keyName)), "wrong")).rejects.toMatchObject({
      code: "WRONG_PASSWORD",
    });
    masterKey = key;
    const config = decodeConfig(key, await readFile(join(dir, "repo", "config")));
    expect(config.version).toBe(2);

    const data = sampleData(24 * 1024 * 1024);
    const backup = execFile(
      "restic",
      ["--no-cache", "-r", join(dir, "repo"), "backup", "--stdin", "--stdin-filename", "data.bin"],
      { env: { ...process.env, RESTIC_PASSWORD: password } },
    );
    backup.stdin!.end(data);
    await new Promise<void>((resolve, reject) => {
      backup.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`restic backup exited with ${code}`))));
    });

    // restic 0.14's `cat snapshot` wants an id, not "latest".
    const [listed] = JSON.parse((await restic("snapshots", "--json")).stdout.toString()) as { id: string }[];
    const snapshot = JSON.parse((await restic("cat", "snapshot", listed!.id)).stdout.toString()) as { tree: string };
    const tree = JSON.parse((await restic("cat", "blob", snapshot.tree)).stdout.toString()) as {
      nodes: { name: string; content: string[] }[];
    };
    const resticBlobs = tree.nodes.find((node) => node.name === "data.bin")!.content;

    const ourBlobs: string[] = [];
    let offset = 0;
    for (const length of chunkLengths(config.chunkerPolynomial, data)) {
      ourBlobs.push(
        createHash("sha256")
          .update(data.subarray(offset, offset + length))
          .digest("hex"),
      );
      offset += length;
    }
    // Random data averages ~1.5 MiB a chunk; at most 8 MiB, so 24 MiB is never fewer than 3.
    expect(resticBlobs.length).toBeGreaterThanOrEqual(4);
    expect(ourBlobs).toEqual(resticBlobs);
    fileBlobs = resticBlobs;
  });

  it("reads restic's index, pack headers and blobs, every blob matching its id", async () => {
    const repo = join(dir, "repo");
    const verified = new Set<string>();
    for (const name of await readdir(join(repo, "index"))) {
      const packs = parseIndex(decodeUnpacked(masterKey, await readFile(join(repo, "index", name)), "index"));
      for (const pack of packs) {
        const bytes = await readFile(join(repo, "data", pack.id.slice(0, 2), pack.id));
        expect(createHash("sha256").update(bytes).digest("hex")).toBe(pack.id);
        const header = decodePackHeader(masterKey, bytes, bytes.length);
        expect([...pack.blobs].sort((a, b) => a.offset - b.offset)).toEqual(header);
        for (const blob of header) {
          const payload = open(masterKey, bytes.subarray(blob.offset, blob.offset + blob.length), "blob");
          const plaintext = blob.uncompressedLength !== undefined ? zstdDecompressSync(payload) : payload;
          expect(createHash("sha256").update(plaintext).digest("hex")).toBe(blob.id);
          verified.add(blob.id);
        }
      }
    }
    // Every chunk of the backed-up file was found, read and verified (repeats in the file are stored once).
    expect(fileBlobs.length).toBeGreaterThan(0);
    for (const id of fileBlobs) expect(verified.has(id), id).toBe(true);
  });
});
