import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isEngineError } from "../errors.ts";
import type { Progress } from "../progress.ts";
import { RepositoryReader } from "../repository/reader.ts";
import { initRepository, openRepository, type Repository } from "../repository/repository.ts";
import { RepositoryWriter } from "../repository/writer.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { FaultyBackend, type FaultyCall, injected } from "../storage/faulty.ts";
import { MemoryBackend } from "../storage/memory.ts";
import { withRetry } from "../storage/retry.ts";
import type { TreeNode } from "../tree/node.ts";
import { testNode as node } from "../tree/nodes.testing.ts";
import { encodeNode, encodeTree } from "../tree/tree-json.ts";
import { type RestoreError, type RestoreOptions, restoreSnapshot } from "./restorer.ts";

// Restores of trees we build blob by blob with the writer: selected paths, overwrite policies, trees built to
// escape the target, and an abort in the middle. (restic's own snapshots: test/restore-restic.test.ts.)

const dir = await mkdtemp(join(tmpdir(), "e3-restorer-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A repository in memory and helpers that store files and folders in it as the archiver would. */
async function repositoryBuilder(storage: StorageBackend = new MemoryBackend(), packSize = 64 * 1024) {
  const repository = await initRepository(storage, "pw", { scrypt: { N: 1024, r: 8, p: 1 } });
  const writer = new RepositoryWriter(repository.key, storage, { packSize, compression: "off" });
  const file = async (name: string | Buffer, chunks: (string | Buffer)[], extra: Partial<TreeNode> = {}) => {
    const content: string[] = [];
    for (const chunk of chunks) content.push((await writer.addBlob("data", Buffer.from(chunk))).id);
    const size = BigInt(chunks.reduce((sum, chunk) => sum + Buffer.from(chunk).length, 0));
    return node(name, "file", { content, ...(size ? { size } : {}), ...extra });
  };
  const tree = async (nodes: TreeNode[]) => {
    const { bytes } = encodeTree(nodes);
    return (await writer.addBlob("tree", bytes)).id;
  };
  /** A tree blob exactly as given: unsorted, duplicate names, anything. */
  const rawTree = async (nodes: TreeNode[]) =>
    (await writer.addBlob("tree", Buffer.from(`{"nodes":[${nodes.map((n) => encodeNode(n)).join(",")}]}\n`))).id;
  const folder = async (name: string, nodes: TreeNode[], extra: Partial<TreeNode> = {}) =>
    node(name, "dir", { subtree: await tree(nodes), ...extra });
  const snapshot = async (nodes: TreeNode[]) => {
    const id = await tree(nodes);
    await writer.flush();
    return { tree: id };
  };
  return { repository, writer, file, folder, tree, rawTree, snapshot, flush: () => writer.flush() };
}

async function restore(repository: Repository, snapshot: { tree: string }, options: RestoreOptions) {
  const errors: RestoreError[] = [];
  const summary = await restoreSnapshot(repository, snapshot, { onError: (error) => errors.push(error), ...options });
  return { summary, errors };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error("expected a failure"),
    (error: unknown) => error,
  );
}

let targets = 0;
const newTarget = () => join(dir, `target-${++targets}`);

describe("restoreSnapshot", () => {
  // Decoded by worker threads reading the packs from shared memory (the default), and on the calling thread.
  it.each([{ threads: 2 }, { threads: 0 }])(
    "restores contents, shared and repeated blobs, links and metadata (threads: $threads)",
    async ({ threads }) => {
      const b = await repositoryBuilder();
      const block = (seed: string) => createHash("sha512").update(seed).digest().toString("hex").repeat(500); // 64 KB
      const snapshot = await b.snapshot([
        await b.folder("docs", [
          await b.file("repeats", [block("a"), block("b"), block("a"), block("a")], {
            mode: 0o640,
            uid: 1234,
            gid: 99,
          }),
          await b.file("shares", [block("b"), "tail"]),
          await b.file("empty", []),
          await b.folder("empty-dir", [], { mode: 2 ** 31 + 0o750 }),
          node("raw-link", "symlink", { linktarget: Buffer.from([0x2e, 0x2e, 0x2f, 0xfe]) }),
          await b.file("second-name", ["linked"], { inode: 7n, deviceId: 1n, links: 2n }),
        ]),
        await b.file("first-name", ["linked"], { inode: 7n, deviceId: 1n, links: 2n }),
      ]);
      const target = newTarget();
      const progress: Progress[] = [];
      const { summary, errors } = await restore(b.repository, snapshot, {
        target,
        concurrency: 2,
        threads,
        onProgress: (p) => progress.push(p),
      });
      expect(errors).toEqual([]);
      expect(summary).toMatchObject({ filesRestored: 6, filesSkipped: 0, dirsRestored: 2, errors: 0 });
      expect(summary.bytesRestored).toBe(64_000 * 5 + 4 + 6);
      const docs = join(target, "docs");
      const repeats = await readFile(join(docs, "repeats"), "utf8");
      expect(repeats === block("a") + block("b") + block("a") + block("a")).toBe(true);
      expect(await readFile(join(docs, "shares"), "utf8")).toBe(`${block("b")}tail`);
      expect(await readFile(join(docs, "empty"), "utf8")).toBe("");
      expect(await readdir(join(docs, "empty-dir"))).toEqual([]);
      expect(await readlink(Buffer.from(join(docs, "raw-link")), { encoding: "buffer" })).toEqual(
        Buffer.from([0x2e, 0x2e, 0x2f, 0xfe]),
      );
      const stats = await lstat(join(docs, "repeats"), { bigint: true });
      expect(stats.mode & 0o7777n).toBe(0o640n);
      expect(stats.mtimeNs / 1000n).toBe(1612325106123456n); // utimes takes a double: microseconds are exact
      if (process.getuid?.() === 0) expect([stats.uid, stats.gid]).toEqual([1234n, 99n]);
      expect((await lstat(join(docs, "empty-dir"))).mode & 0o7777).toBe(0o750);
      expect((await lstat(docs, { bigint: true })).mtimeNs / 1000n).toBe(1612325106123456n);
      expect((await lstat(join(docs, "second-name"))).ino).toBe((await lstat(join(target, "first-name"))).ino);
      const last = progress.at(-1)!;
      expect(last).toMatchObject({ phase: "done", filesDone: 6, filesTotal: 6, bytesDone: last.bytesTotal });
    },
  );

  it("makes fifos, and devices when running as root", async () => {
    const b = await repositoryBuilder();
    const asRoot = process.getuid?.() === 0;
    const snapshot = await b.snapshot([
      node("pipe", "fifo", { mode: (1 << 25) + 0o620 }),
      ...(asRoot ? [node("null", "chardev", { mode: (1 << 26) + (1 << 21) + 0o666, device: 0x103n })] : []),
    ]);
    const target = newTarget();
    const { errors } = await restore(b.repository, snapshot, { target });
    expect(errors).toEqual([]);
    const pipe = await lstat(join(target, "pipe"));
    expect([pipe.isFIFO(), pipe.mode & 0o777]).toEqual([true, 0o620]);
    if (asRoot) {
      const device = await lstat(join(target, "null"));
      expect([device.isCharacterDevice(), device.rdev]).toEqual([true, 0x103]);
    }
  });

  it("reports the files of a pack that cannot be loaded and restores the others", async () => {
    const faulty = new FaultyBackend(new MemoryBackend());
    const b = await repositoryBuilder(faulty, 1);
    const first = await b.file("first", ["in its own pack"]);
    const snapshot = await b.snapshot([first, await b.file("second", ["2"])]);
    const index = await new RepositoryReader(b.repository.key, faulty).index();
    const pack = index.get(first.content![0]!)!.pack;
    faulty.failNext((call) => call.operation === "load" && call.handle?.name === pack, 1, injected.serverError());
    const target = newTarget();
    const { summary, errors } = await restore(b.repository, snapshot, { target, concurrency: 1 });
    expect(errors).toEqual([expect.objectContaining({ path: "/first", message: "HTTP 500 (injected)" })]);
    expect(summary).toMatchObject({ filesRestored: 1, errors: 1 });
    expect(await readdir(target)).toEqual(["second"]);
  });

  it("reads on where a pack's load broke off, and fails only the files it did not reach when it cannot", async () => {
    const faulty = new FaultyBackend(new MemoryBackend());
    const b = await repositoryBuilder(faulty, 16 * 2 ** 20);
    // Twelve files of 300 KiB in one pack: its load is cut into decoding jobs of about 1 MiB.
    const contents = Array.from({ length: 12 }, (_, i) => Buffer.alloc(300 * 1024, i + 1));
    const files = await Promise.all(contents.map((bytes, i) => b.file(`f${String(i).padStart(2, "0")}`, [bytes])));
    const snapshot = await b.snapshot(files);
    const index = await new RepositoryReader(b.repository.key, faulty).index();
    const pack = index.get(files[0]!.content![0]!)!.pack;
    expect(files.map((file) => index.get(file.content![0]!)!.pack)).toEqual(files.map(() => pack));
    const isData = (call: FaultyCall) => call.operation === "load" && call.handle?.name === pack;
    const digest = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
    const expected = contents.map(digest);
    /** Each file's digest, or null where there is none (comparing 300 KiB buffers element-wise takes seconds). */
    const readBack = async (target: string) =>
      Promise.all(files.map((file) => readFile(join(target, file.name.toString())).then(digest, () => null)));

    faulty.truncateNextLoads(2, { keep: 1500 * 1024, predicate: isData });
    const resumed = await openRepository(withRetry(faulty, { baseDelayMs: 1, maxDelayMs: 2 }), "pw");
    const whole = newTarget();
    const first = await restore(resumed, snapshot, { target: whole, concurrency: 1 });
    expect(first.errors).toEqual([]);
    expect(faulty.calls.filter(isData).map((call) => call.fault)).toEqual(["truncated", "truncated", undefined]);
    expect(await readBack(whole)).toEqual(expected);

    faulty.truncateNextLoads(1, { keep: 1500 * 1024, predicate: isData }); // no retries: the load ends short
    const cut = newTarget();
    const second = await restore(b.repository, snapshot, { target: cut, concurrency: 1 });
    const restored = await readBack(cut);
    // The jobs that arrived whole are written; the rest of the files are reported, none is left half-written.
    const reached = restored.indexOf(null);
    expect(reached).toBeGreaterThan(0);
    expect(restored.slice(0, reached)).toEqual(expected.slice(0, reached));
    expect(restored.slice(reached).every((bytes) => bytes === null)).toBe(true);
    expect(second.errors.map((error) => error.path)).toEqual(files.slice(reached).map((file) => `/${file.name}`));
    expect(second.errors.every((error) => error.message.includes(`${1500 * 1024} of`))).toBe(true);
    expect((await readdir(cut)).sort()).toEqual(files.slice(0, reached).map((file) => file.name.toString()));
  });

  it("restores only the included paths, with the folders above them", async () => {
    const b = await repositoryBuilder();
    const snapshot = await b.snapshot([
      await b.folder("home", [
        await b.folder("ann", [await b.file("keep.txt", ["keep"]), await b.file("skip.txt", ["skip"])]),
        await b.folder("bob", [await b.file("other.txt", ["other"])]),
      ]),
      await b.file("top.txt", ["top"]),
    ]);
    const target = newTarget();
    const { summary } = await restore(b.repository, snapshot, { target, include: ["/home/ann/keep.txt", "top.txt"] });
    expect(summary).toMatchObject({ filesRestored: 2, dirsRestored: 0 });
    expect(await readdir(target)).toEqual(["home", "top.txt"]);
    expect(await readdir(join(target, "home"))).toEqual(["ann"]);
    expect(await readdir(join(target, "home", "ann"))).toEqual(["keep.txt"]);

    const whole = newTarget();
    expect((await restore(b.repository, snapshot, { target: whole, include: ["/home/bob"] })).summary).toMatchObject({
      filesRestored: 1,
      dirsRestored: 1,
    });
    expect(await readFile(join(whole, "home", "bob", "other.txt"), "utf8")).toBe("other");

    const missing = await failure(restore(b.repository, snapshot, { target: newTarget(), include: ["/home/eve"] }));
    expect(isEngineError(missing, "PATH_NOT_FOUND")).toBe(true);
    const escaping = await failure(restore(b.repository, snapshot, { target: newTarget(), include: ["/home/../x"] }));
    expect(isEngineError(escaping, "INVALID_ARGUMENT")).toBe(true);
  });

  it("follows the overwrite policy for what the target already holds", async () => {
    const b = await repositoryBuilder();
    const snapshot = await b.snapshot([
      await b.file("changed", ["snapshot text"]),
      await b.file("same", ["same text"]),
      node("link", "symlink", { linktarget: "changed" }),
    ]);
    const prepare = async () => {
      const target = newTarget();
      await restore(b.repository, snapshot, { target });
      await writeFile(join(target, "changed"), "edited text!!");
      await utimes(join(target, "same"), 1, 1);
      return { target, sameInode: (await lstat(join(target, "same"))).ino };
    };

    const never = await prepare();
    const neverRun = await restore(b.repository, snapshot, { target: never.target, overwrite: "never" });
    expect(neverRun.summary).toMatchObject({ filesRestored: 0, filesSkipped: 3 });
    expect(await readFile(join(never.target, "changed"), "utf8")).toBe("edited text!!");
    expect((await lstat(join(never.target, "same"))).mtimeMs).toBe(1000);

    const ifChanged = await prepare();
    const ifChangedRun = await restore(b.repository, snapshot, { target: ifChanged.target, overwrite: "if-changed" });
    expect(ifChangedRun.summary).toMatchObject({ filesRestored: 1, filesSkipped: 2 });
    expect(await readFile(join(ifChanged.target, "changed"), "utf8")).toBe("snapshot text");
    const same = await lstat(join(ifChanged.target, "same"));
    expect(same.ino).toBe(ifChanged.sameInode); // kept, not rewritten…
    expect(same.mtime.toISOString()).toBe("2021-02-03T04:05:06.123Z"); // …but its metadata is the snapshot's

    const always = await prepare();
    const alwaysRun = await restore(b.repository, snapshot, { target: always.target });
    expect(alwaysRun.summary).toMatchObject({ filesRestored: 3, filesSkipped: 0 });
    expect(await readFile(join(always.target, "changed"), "utf8")).toBe("snapshot text");
    expect((await lstat(join(always.target, "same"))).ino).not.toBe(always.sameInode);
  });

  describe("never writes outside the target", () => {
    const outside = join(dir, "outside");

    it.each([
      ["a node named ..", async (b: Builder) => [await b.folder("..", [await b.file("escaped", ["x"])])]],
      ["a node named .", async (b: Builder) => [await b.folder(".", [await b.file("escaped", ["x"])])]],
      ["a name with a slash", async (b: Builder) => [await b.file("../../escaped", ["x"])]],
      ["a name with NUL", async (b: Builder) => [await b.file("a\0b", ["x"])]],
    ])("refuses %s", async (_, nodes) => {
      const b = await repositoryBuilder();
      const snapshot = await b.snapshot(await nodes(b));
      // Deep enough that "../.." from the target lands inside `base`, which must stay absent: a refused tree leaves
      // nothing, not even the target.
      const base = newTarget();
      const target = join(base, "a", "b", "target");
      const error = await failure(restore(b.repository, snapshot, { target }));
      expect(isEngineError(error, "INVALID_TREE")).toBe(true);
      await expect(readdir(base)).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("refuses a symlink and a folder of the same name (the folder's files would land where the link points)", async () => {
      await mkdir(outside, { recursive: true });
      const b = await repositoryBuilder();
      const attack = await b.rawTree([
        node("link", "symlink", { linktarget: outside }),
        await b.folder("link", [await b.file("planted", ["x"])]),
      ]);
      await b.flush();
      const target = newTarget();
      const error = await failure(restore(b.repository, { tree: attack }, { target }));
      expect(isEngineError(error, "INVALID_TREE")).toBe(true);
      expect(await readdir(outside)).toEqual([]);
      await expect(readdir(target)).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("replaces a symlink the target holds where the snapshot has a folder, or leaves it and reports", async () => {
      await mkdir(outside, { recursive: true });
      const b = await repositoryBuilder();
      const snapshot = await b.snapshot([await b.folder("home", [await b.file("planted", ["x"])])]);
      const target = newTarget();
      await mkdir(target);
      await symlink(outside, join(target, "home"));
      const kept = await restore(b.repository, snapshot, { target, overwrite: "never" });
      expect(kept.errors).toEqual([expect.objectContaining({ path: "/home", code: "INVALID_ARGUMENT" })]);
      expect(await readdir(outside)).toEqual([]);

      const replaced = await restore(b.repository, snapshot, { target });
      expect(replaced.errors).toEqual([]);
      expect((await lstat(join(target, "home"))).isDirectory()).toBe(true);
      expect(await readFile(join(target, "home", "planted"), "utf8")).toBe("x");
      expect(await readdir(outside)).toEqual([]);
    });
  });

  it("stops on abort and leaves no partial file under a final name, nor a temporary one", async () => {
    const faulty = new FaultyBackend(new MemoryBackend());
    const b = await repositoryBuilder(faulty, 16 * 1024);
    const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(16 * 1024, i));
    const snapshot = await b.snapshot([await b.file("big", chunks), await b.file("previous", ["new version"])]);
    const target = newTarget();
    await mkdir(target);
    await writeFile(join(target, "big"), "the old big file");
    const controller = new AbortController();
    let dataLoads = 0;
    faulty.failWhen((call) => {
      if (call.operation === "load" && call.handle?.type === "data" && ++dataLoads === 4) controller.abort();
      return false;
    }, new Error("never thrown"));
    const error = await failure(restore(b.repository, snapshot, { target, signal: controller.signal, concurrency: 1 }));
    expect((error as Error).name).toBe("AbortError");
    expect(dataLoads).toBeLessThan(8);
    expect((await readdir(target)).sort()).toEqual(["big"]);
    expect(await readFile(join(target, "big"), "utf8")).toBe("the old big file");
  });

  it("removes what a killed restore left under temporary names when asked to, and nothing else", async () => {
    const b = await repositoryBuilder();
    const snapshot = await b.snapshot([
      await b.file("top", ["top text"]),
      await b.folder("docs", [await b.file("letter", ["dear bank"])]),
    ]);
    const leftovers = async (target: string) => {
      await mkdir(join(target, "docs"), { recursive: true });
      await writeFile(join(target, ".e3-restore-0123456789abcdef"), "half a file");
      await writeFile(join(target, "docs", ".e3-restore-fedcba9876543210"), "half a letter");
      await writeFile(join(target, "docs", ".e3-restore-mine"), "a user's file of a similar name");
    };
    const kept = newTarget();
    await leftovers(kept);
    await restore(b.repository, snapshot, { target: kept });
    expect((await readdir(join(kept, "docs"))).sort()).toEqual([
      ".e3-restore-fedcba9876543210",
      ".e3-restore-mine",
      "letter",
    ]);

    const cleaned = newTarget();
    await leftovers(cleaned);
    const { summary } = await restore(b.repository, snapshot, { target: cleaned, removeLeftovers: true });
    expect(summary).toMatchObject({ filesRestored: 2, errors: 0 });
    expect((await readdir(cleaned)).sort()).toEqual(["docs", "top"]);
    expect((await readdir(join(cleaned, "docs"))).sort()).toEqual([".e3-restore-mine", "letter"]);
  });
});

type Builder = Awaited<ReturnType<typeof repositoryBuilder>>;
