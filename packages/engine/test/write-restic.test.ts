import { execFile } from "node:child_process";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { chunkLengths } from "../src/chunker/rabin.ts";
import { initLocalRepository } from "../src/repository/repository.ts";
import { RepositoryWriter } from "../src/repository/writer.ts";
import { LocalBackend } from "../src/storage/local.ts";
import { nodeFromStats } from "../src/tree/node.ts";
import type { TreeNode } from "../src/tree/tree-json.ts";
import { encodeTree } from "../src/tree/tree-json.ts";

// The format pieces compose into repositories restic accepts: a folder stored through our init, chunker, tree
// encoder, pack/index writer and snapshot file passes `restic check --read-data` and restores byte-identically.
// (The walk below is the minimal writer recipe of engine-reference §1.14, not the archiver.)

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-write-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function storeDirectory(writer: RepositoryWriter, polynomial: bigint, path: string): Promise<string> {
  const nodes: TreeNode[] = [];
  for (const name of await readdir(path)) {
    const full = join(path, name);
    const stats = await lstat(full, { bigint: true });
    const node = nodeFromStats(Buffer.from(name), stats);
    if (node.type === "file") {
      const data = await readFile(full);
      const content: string[] = [];
      let offset = 0;
      for (const length of chunkLengths(polynomial, data)) {
        content.push((await writer.addBlob("data", data.subarray(offset, offset + length))).id);
        offset += length;
      }
      node.content = content;
    } else if (node.type === "dir") {
      node.subtree = await storeDirectory(writer, polynomial, full);
    } else if (node.type === "symlink") {
      node.linktarget = await readlink(full);
    }
    nodes.push(node);
  }
  const tree = encodeTree(nodes);
  await writer.addBlob("tree", tree.bytes);
  return tree.id;
}

/** The tree of the path components above the backed-up folder, as restic builds it. */
async function storeWithParents(writer: RepositoryWriter, polynomial: bigint, path: string): Promise<string> {
  let treeId = await storeDirectory(writer, polynomial, path);
  for (let current = path; current !== "/"; current = dirname(current)) {
    const node = nodeFromStats(
      Buffer.from(current.slice(dirname(current).length).replace(/^\//, "")),
      await lstat(current, { bigint: true }),
    );
    node.subtree = treeId;
    const tree = encodeTree([node]);
    await writer.addBlob("tree", tree.bytes);
    treeId = tree.id;
  }
  return treeId;
}

describe("repositories written by e3", () => {
  it("pass restic check --read-data and restore byte-identically", { timeout: 240_000 }, async () => {
    const source = join(dir, "source");
    await mkdir(join(source, "docs", "empty"), { recursive: true });
    const big = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    await writeFile(join(source, "docs", "big.bin"), big);
    await writeFile(join(source, "docs", "notes.txt"), "compressible text ".repeat(10_000));
    await writeFile(join(source, "empty-file"), "");
    await writeFile(join(source, "script.sh"), "#!/bin/sh\necho hi\n");
    await chmod(join(source, "script.sh"), 0o755);
    await symlink("docs/notes.txt", join(source, "link"));
    await utimes(
      join(source, "docs", "notes.txt"),
      new Date("2020-01-02T03:04:05.678Z"),
      new Date("2020-01-02T03:04:05.678Z"),
    );

    const repo = join(dir, "repo");
    const password = "written by e3";
    const { key: master, config } = await initLocalRepository(repo, password);
    const writer = new RepositoryWriter(master, new LocalBackend(repo), { packSize: 1024 * 1024 });
    const tree = await storeWithParents(writer, config.chunkerPolynomial, source);
    await writer.writeSnapshot({ time: new Date().toISOString(), tree, paths: [source], hostname: "e3-test" });

    const env = { ...process.env, RESTIC_PASSWORD: password };
    const restic = (...args: string[]) =>
      run("restic", ["--no-cache", "-r", repo, ...args], { env, maxBuffer: 1 << 24 });
    const check = await restic("check", "--read-data");
    expect(check.stdout).toContain("no errors were found");
    const target = join(dir, "restored");
    await restic("restore", "latest", "--target", target);
    const restored = join(target, source);
    expect(await readFile(join(restored, "docs", "big.bin"))).toEqual(big);
    expect(await readFile(join(restored, "docs", "notes.txt"), "utf8")).toBe("compressible text ".repeat(10_000));
    expect(await readFile(join(restored, "empty-file"), "utf8")).toBe("");
    expect(await readlink(join(restored, "link"))).toBe("docs/notes.txt");
    expect((await lstat(join(restored, "script.sh"))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(restored, "docs", "notes.txt"))).mtime.toISOString()).toBe("2020-01-02T03:04:05.678Z");
    expect((await lstat(join(restored, "docs", "empty"))).isDirectory()).toBe(true);
  });
});
