import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmod,
  cp,
  link,
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
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunkBuffer } from "../src/chunker/rabin.ts";
import { RepositoryReader } from "../src/repository/reader.ts";
import { openRepository, type Repository } from "../src/repository/repository.ts";
import { type RestoreError, restoreSnapshot } from "../src/restore/restorer.ts";
import type {
  ChunkConsumer,
  FileHandle,
  FileInfo,
  FileType,
  LoadOptions,
  SaveData,
  SignalOptions,
  StorageBackend,
} from "../src/storage/backend.ts";
import { LocalBackend } from "../src/storage/local.ts";

// restic 0.14 backs up a folder with everything a restore must get right (nested and empty folders, an empty
// file, a symlink, hard links, a large file whose blobs repeat, setuid and sticky modes, a fifo, names with
// spaces, quotes, a newline and non-UTF-8 bytes, fixed nanosecond times); we restore it and compare with the
// source and with what `restic restore` makes of it. Then: each pack is loaded once, and a damaged pack costs only
// the file it holds, reported as MAC_MISMATCH and never written with wrong bytes.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-restore-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const password = "restore me";
const env = { ...process.env, RESTIC_PASSWORD: password };
const source = join(dir, "source");
const repo = join(dir, "repo");
let snapshotTree: string;

/** A storage that counts the loads of each pack, and the most loads at once. */
class CountingBackend implements StorageBackend {
  readonly #inner: StorageBackend;
  readonly packLoads = new Map<string, number>();
  #inFlight = 0;
  mostInFlight = 0;
  constructor(inner: StorageBackend) {
    this.#inner = inner;
  }
  location(): string {
    return this.#inner.location();
  }
  save(handle: FileHandle, data: SaveData, options?: SignalOptions): Promise<void> {
    return this.#inner.save(handle, data, options);
  }
  load(handle: FileHandle, options?: LoadOptions): Promise<Buffer> {
    return this.#counted(handle, () => this.#inner.load(handle, options));
  }
  loadChunks(handle: FileHandle, consume: ChunkConsumer, options?: LoadOptions): Promise<void> {
    return this.#counted(handle, () => this.#inner.loadChunks(handle, consume, options));
  }
  async #counted<T>(handle: FileHandle, load: () => Promise<T>): Promise<T> {
    if (handle.type === "data") this.packLoads.set(handle.name, (this.packLoads.get(handle.name) ?? 0) + 1);
    this.#inFlight++;
    this.mostInFlight = Math.max(this.mostInFlight, this.#inFlight);
    try {
      return await load();
    } finally {
      this.#inFlight--;
    }
  }
  stat(handle: FileHandle, options?: SignalOptions): Promise<FileInfo> {
    return this.#inner.stat(handle, options);
  }
  list(type: FileType, options?: SignalOptions): AsyncIterable<FileInfo> {
    return this.#inner.list(type, options);
  }
  remove(handle: FileHandle, options?: SignalOptions): Promise<void> {
    return this.#inner.remove(handle, options);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

const oddNames = [
  Buffer.from("with space"),
  Buffer.from("quote\"d 'name'"),
  Buffer.from("new\nline"),
  Buffer.from([0x66, 0xff]),
];
/**
 * 5 MiB: a random 1 MiB block five times over. Once the chunker cuts inside the block, it cuts at the same place
 * in every copy, so the file repeats a blob; a block without a cut is drawn again (the polynomial is the
 * repository's, known after init).
 */
function repeatingFile(polynomial: bigint): Buffer {
  for (;;) {
    const block = randomBytes(1024 * 1024);
    const data = Buffer.concat([block, block, block, block, block]);
    const ids = chunkBuffer(polynomial, data).map(({ offset, length }) =>
      createHash("sha256")
        .update(data.subarray(offset, offset + length))
        .digest("hex"),
    );
    if (new Set(ids).size < ids.length) return data;
  }
}
let big: Buffer;
const sourcePath = (...names: (string | Buffer)[]) =>
  Buffer.concat([Buffer.from(source), ...names.flatMap((name) => [Buffer.from("/"), Buffer.from(name)])]);

beforeAll(async () => {
  await mkdir(join(source, "dir", "sub"), { recursive: true });
  await mkdir(join(source, "empty-dir"));
  await mkdir(join(source, "sticky"));
  await writeFile(join(source, "dir", "sub", "nested.txt"), "nested text\n".repeat(100));
  await writeFile(join(source, "empty-file"), "");
  await run("restic", ["--no-cache", "-r", repo, "init"], { env });
  big = repeatingFile((await openRepo()).config.chunkerPolynomial);
  await writeFile(join(source, "big.bin"), big);
  await writeFile(join(source, "suid"), "#!/bin/sh\n");
  await chmod(join(source, "suid"), 0o4755);
  await chmod(join(source, "sticky"), 0o1777);
  await symlink("dir/sub/nested.txt", join(source, "link"));
  await writeFile(join(source, "hard-a"), "linked twice\n");
  await link(join(source, "hard-a"), join(source, "dir", "hard-b"));
  await run("mkfifo", [join(source, "fifo")]);
  for (const name of oddNames) await writeFile(sourcePath("dir", name), Buffer.concat([name, Buffer.from("\n")]));
  // Times with digits below the microsecond; folders last, their contents are done.
  const time = (seconds: number) => seconds;
  await utimes(join(source, "dir", "sub", "nested.txt"), time(1577934245.123456), time(1577934245.123456));
  await utimes(join(source, "dir", "sub"), time(1500000000.987654), time(1500000000.987654));
  await run("restic", ["--no-cache", "-r", repo, "backup", source], { env });
  const [snapshot] = JSON.parse(
    (await run("restic", ["--no-cache", "-r", repo, "snapshots", "--json"], { env })).stdout,
  ) as { tree: string }[];
  snapshotTree = snapshot!.tree;
}, 60_000);

type Entry = { type: string; mode: number; uid: number; gid: number; mtimeNs: bigint; ino: bigint; data?: string };

/** Every entry under `root` by relative path (as latin1, to keep non-UTF-8 bytes apart), with what we compare. */
async function describeTree(root: Buffer): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  const walk = async (path: Buffer, relative: string) => {
    for (const name of await readdir(path, { encoding: "buffer" })) {
      const full = Buffer.concat([path, Buffer.from("/"), name]);
      const stats = await lstat(full, { bigint: true });
      const type = stats.isDirectory() ? "dir" : stats.isSymbolicLink() ? "symlink" : stats.isFIFO() ? "fifo" : "file";
      let data: string | undefined;
      if (type === "file")
        data = createHash("sha256")
          .update(await readFile(full))
          .digest("hex");
      if (type === "symlink") data = (await readlink(full, { encoding: "buffer" })).toString("latin1");
      const key = `${relative}/${name.toString("latin1")}`;
      entries.set(key, {
        type,
        mode: Number(stats.mode),
        uid: Number(stats.uid),
        gid: Number(stats.gid),
        mtimeNs: stats.mtimeNs,
        ino: stats.ino,
        ...(data === undefined ? {} : { data }),
      });
      if (type === "dir") await walk(full, key);
    }
  };
  await walk(root, "");
  return entries;
}

/** Same entries, contents, modes and owners; mtimes within a microsecond (utimes takes a double). */
function expectSameTree(actual: Map<string, Entry>, expected: Map<string, Entry>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [path, entry] of expected) {
    const restored = actual.get(path)!;
    const { mtimeNs, ino, ...rest } = entry;
    const { mtimeNs: restoredMtime, ino: _, ...restoredRest } = restored;
    expect({ path, ...restoredRest }).toEqual({ path, ...rest });
    // Symlink times are restored too, but the source's link times changed when restic read nothing of them.
    const difference = restoredMtime > mtimeNs ? restoredMtime - mtimeNs : mtimeNs - restoredMtime;
    expect({ path, close: difference < 1000n }).toEqual({ path, close: true });
  }
}

async function openRepo(storage: StorageBackend = new LocalBackend(repo)): Promise<Repository> {
  return openRepository(storage, password);
}

describe("restore of a snapshot restic took", () => {
  it("gives back the source: contents, modes, owners, times, symlinks, hard links, odd names", async () => {
    const target = join(dir, "ours");
    // Each file's bytes once: the second name of hard-a is a link, not a copy.
    const fileBytes =
      big.length +
      1200 +
      "linked twice\n".length +
      "#!/bin/sh\n".length +
      oddNames.reduce((sum, name) => sum + name.length + 1, 0);
    const errors: RestoreError[] = [];
    const progress: number[] = [];
    const summary = await restoreSnapshot(
      await openRepo(),
      { tree: snapshotTree },
      { target, onError: (error) => errors.push(error), onProgress: (p) => progress.push(p.filesDone) },
    );
    expect(errors).toEqual([]);
    expect(summary).toMatchObject({ errors: 0, filesSkipped: 0, bytesRestored: fileBytes });
    expect(progress.at(-1)).toBe(summary.filesRestored);

    const restored = Buffer.from(join(target, source));
    const ours = await describeTree(restored);
    expectSameTree(ours, await describeTree(Buffer.from(source)));
    expect(ours.get("/hard-a")!.ino).toBe(ours.get("/dir/hard-b")!.ino);
    expect(ours.get("/suid")!.mode & 0o7777).toBe(0o4755);
    expect(ours.get("/sticky")!.mode & 0o7777).toBe(0o1777);
    expect((await readFile(join(restored.toString(), "big.bin"))).equals(big)).toBe(true);

    // restic itself restores the same tree, with the same times (to utimes' precision), parents included.
    const theirs = join(dir, "theirs");
    await run("restic", ["--no-cache", "-r", repo, "restore", "latest", "--target", theirs], { env });
    expectSameTree(await describeTree(Buffer.from(target)), await describeTree(Buffer.from(theirs)));
  }, 60_000);

  it("repeats blobs within the big file (the case a restore must write to several offsets)", async () => {
    const reader = new RepositoryReader((await openRepo()).key, new LocalBackend(repo));
    let tree = snapshotTree;
    for (const name of source.split("/").filter(Boolean)) {
      tree = (await reader.tree(tree)).find((node) => node.name.toString() === name)!.subtree!;
    }
    const content = (await reader.tree(tree)).find((node) => node.name.toString() === "big.bin")!.content!;
    expect(new Set(content).size).toBeLessThan(content.length);
  });

  it("loads each pack once, however many files need it", async () => {
    const storage = new CountingBackend(new LocalBackend(repo));
    const summary = await restoreSnapshot(
      await openRepo(storage),
      { tree: snapshotTree },
      {
        target: join(dir, "counted"),
        concurrency: 3,
      },
    );
    const reader = new RepositoryReader((await openRepo()).key, new LocalBackend(repo));
    const dataPacks = new Set([...(await reader.index()).values()].filter((b) => b.type === "data").map((b) => b.pack));
    const dataPackLoads = [...storage.packLoads].filter(([pack]) => dataPacks.has(pack));
    expect(dataPackLoads.length).toBe(dataPacks.size);
    expect(dataPackLoads.every(([, loads]) => loads === 1)).toBe(true);
    expect(summary.packsLoaded).toBe(dataPacks.size);
    expect(storage.mostInFlight).toBeLessThanOrEqual(3);
  });

  it("reports a damaged blob as MAC_MISMATCH for its file, restores the rest, never writes wrong bytes", async () => {
    const damaged = join(dir, "damaged-repo");
    await cp(repo, damaged, { recursive: true });
    const storage = new LocalBackend(damaged);
    const repository = await openRepository(storage, password);
    const reader = new RepositoryReader(repository.key, storage);
    let tree = snapshotTree;
    for (const name of [...source.split("/").filter(Boolean), "dir", "sub"]) {
      tree = (await reader.tree(tree)).find((node) => node.name.toString() === name)!.subtree!;
    }
    const nested = (await reader.tree(tree)).find((node) => node.name.toString() === "nested.txt")!;
    const location = (await reader.index()).get(nested.content![0]!)!;
    const packPath = join(damaged, "data", location.pack.slice(0, 2), location.pack);
    await chmod(packPath, 0o600);
    const pack = await readFile(packPath);
    pack[location.offset + 20]! ^= 0x01;
    await writeFile(packPath, pack);

    const target = join(dir, "from-damaged");
    const errors: RestoreError[] = [];
    const summary = await restoreSnapshot(
      repository,
      { tree: snapshotTree },
      {
        target,
        onError: (error) => errors.push(error),
      },
    );
    expect(errors).toEqual([
      expect.objectContaining({ path: join(source, "dir", "sub", "nested.txt"), code: "MAC_MISMATCH" }),
    ]);
    expect(summary.errors).toBe(1);
    const restored = join(target, source);
    await expect(lstat(join(restored, "dir", "sub", "nested.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(join(restored, "dir", "sub"))).toEqual([]);
    expect((await readFile(join(restored, "big.bin"))).equals(big)).toBe(true);
    expect(await readFile(join(restored, "hard-a"), "utf8")).toBe("linked twice\n");
  });
});
