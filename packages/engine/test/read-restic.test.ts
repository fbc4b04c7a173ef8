import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { EngineError } from "../src/errors.ts";
import { decodeConfig } from "../src/repository/config.ts";
import { openMasterKey } from "../src/repository/keys.ts";
import { RepositoryReader } from "../src/repository/reader.ts";
import { LocalBackend } from "../src/storage/local.ts";

// We read what restic writes: a snapshot restic took is listed, walked and its files reassembled byte-identically
// from their blobs; a damaged pack is reported, never read through.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-read-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("RepositoryReader on a restic repository", () => {
  it("lists restic's snapshot and reassembles its files from blobs; a flipped byte is a MAC failure", async () => {
    const source = join(dir, "source");
    await mkdir(join(source, "sub"), { recursive: true });
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2246822519) >>> 0, i);
    await writeFile(join(source, "sub", "big.bin"), big);
    await writeFile(join(source, "hello.txt"), "hello restic\n");
    const repo = join(dir, "repo");
    const env = { ...process.env, RESTIC_PASSWORD: "read me" };
    await run("restic", ["--no-cache", "-r", repo, "init"], { env });
    await run("restic", ["--no-cache", "-r", repo, "backup", source], { env });

    const keyName = (await readdir(join(repo, "keys")))[0]!;
    const key = await openMasterKey(await readFile(join(repo, "keys", keyName)), "read me");
    decodeConfig(key, await readFile(join(repo, "config")));
    const reader = new RepositoryReader(key, new LocalBackend(repo));
    const [snapshot] = await reader.snapshots();
    expect(snapshot!.paths).toEqual([source]);

    // Walk from the root down the source path, then read both files.
    let treeId = snapshot!.tree;
    for (const component of source.split("/").filter(Boolean)) {
      const nodes = await reader.tree(treeId);
      treeId = nodes.find((node) => node.name.toString() === component)!.subtree!;
    }
    const top = await reader.tree(treeId);
    const fileContent = async (nodes: typeof top, name: string) => {
      const node = nodes.find((n) => n.name.toString() === name)!;
      return Buffer.concat(await Promise.all(node.content!.map((id) => reader.blob("data", id))));
    };
    expect((await fileContent(top, "hello.txt")).toString()).toBe("hello restic\n");
    const sub = await reader.tree(top.find((n) => n.name.toString() === "sub")!.subtree!);
    expect(await fileContent(sub, "big.bin")).toEqual(big);

    // Damage one byte inside big.bin's first blob: reading it must fail, naming the pack.
    const bigNode = sub.find((n) => n.name.toString() === "big.bin")!;
    const location = (await reader.index()).get(bigNode.content![0]!)!;
    const packPath = join(repo, "data", location.pack.slice(0, 2), location.pack);
    await chmod(packPath, 0o600);
    const pack = await readFile(packPath);
    pack[location.offset + 100]! ^= 0xff;
    await writeFile(packPath, pack);
    const failure = await reader.blob("data", bigNode.content![0]!).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EngineError);
    expect((failure as EngineError).code).toBe("MAC_MISMATCH");
    expect((failure as EngineError).message).toContain(location.pack);
  });
});
