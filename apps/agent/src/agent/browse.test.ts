import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentCommand, BrowseCommandResult } from "@e3/api/agent-contract";
import { backup, initRepository, prepareStorage } from "@e3/engine";
import { afterAll, describe, expect, it } from "vitest";
import { BrowseCache, BrowseError, browseLocal, localRoots, runBrowse } from "./browse.ts";

const dir = await mkdtemp(join(tmpdir(), "e3-agent-browse-"));
const cache = new BrowseCache();
afterAll(async () => {
  await cache.close();
  await rm(dir, { recursive: true, force: true });
});

const jobId = "7d0c5d6e-1f3a-4b8e-9c2d-0a1b2c3d4e5f";

function command(payload: unknown, repository?: string): AgentCommand {
  return {
    commandId: "11111111-2222-4333-8444-555555555555",
    type: "browse",
    runId: null,
    payload,
    job: repository
      ? {
          jobId,
          jobName: "browse",
          engine: "backup",
          source: { paths: [], includeGlob: null, excludeGlob: null },
          destination: {
            type: "local",
            bucket: null,
            prefix: null,
            localPath: repository,
            endpoint: null,
            region: null,
            accessKeyId: null,
            secretAccessKey: null,
            bucketAutoCreate: false,
          },
          repository: { encryptionMode: "managed", password: "browse-password" },
          compression: "auto",
          schedule: null,
          retention: null,
          policy: null,
          bandwidthLimitKbps: null,
          localBandwidthLimitKbps: null,
          parallelism: null,
          heartbeatSeconds: 30,
        }
      : null,
  };
}

const browse = (payload: unknown, repository?: string) =>
  runBrowse(command(payload, repository), { stateDir: dir, cache, signal: new AbortController().signal });

describe("browsing the agent's disks", () => {
  it("starts at / on Linux and at the platform's drives on Windows", async () => {
    const linux = { platform: "linux" as const, listDrives: async () => [{ path: "/" }, { path: "/boot" }] };
    expect(await localRoots(linux)).toEqual([{ path: "/", label: "/" }]);
    const windows = {
      platform: "win32" as const,
      listDrives: async () => [{ path: "C:\\", label: "Windows" }, { path: "E:\\" }],
    };
    expect(await localRoots(windows)).toEqual([
      { path: "C:\\", label: "C: Windows" },
      { path: "E:\\", label: "E:" },
    ]);
    const roots = await browseLocal({ kind: "local", path: "", cursor: null, limit: 10 }, windows);
    expect(roots).toMatchObject({ path: "", parent: null, platform: "win32" });
    expect(roots.entries.map((entry) => [entry.path, entry.type])).toEqual([
      ["C:\\", "dir"],
      ["E:\\", "dir"],
    ]);
  });

  it("lists a folder with types, sizes and times, in pages, and says clearly what is wrong", async () => {
    const folder = join(dir, "disk");
    await mkdir(join(folder, "b-folder"), { recursive: true });
    await writeFile(join(folder, "a.txt"), "hello");
    await writeFile(join(folder, "c.bin"), Buffer.alloc(1234));
    await symlink("a.txt", join(folder, "d-link"));
    const first = (await browse({ kind: "local", path: folder, limit: 2 })) as Extract<
      BrowseCommandResult,
      { kind: "local" }
    >;
    expect(first.parent).toBe(dir);
    expect(first.entries.map((entry) => [entry.name, entry.type, entry.size])).toEqual([
      ["a.txt", "file", 5],
      ["b-folder", "dir", 0],
    ]);
    expect(first.entries[0]?.path).toBe(join(folder, "a.txt"));
    expect(Date.parse(first.entries[0]?.mtime ?? "")).toBeGreaterThan(Date.now() - 60_000);
    expect(first.nextCursor).toBe("b-folder");
    const second = (await browse({ kind: "local", path: folder, limit: 2, cursor: first.nextCursor })) as typeof first;
    expect(second.entries.map((entry) => [entry.name, entry.type, entry.size])).toEqual([
      ["c.bin", "file", 1234],
      ["d-link", "symlink", 0],
    ]);
    expect(second.nextCursor).toBeNull();
    expect(((await browse({ kind: "local", path: "/" })) as typeof first).parent).toBe("");

    await expect(browse({ kind: "local", path: join(folder, "missing") })).rejects.toMatchObject({
      code: "PATH_NOT_FOUND",
    });
    await expect(browse({ kind: "local", path: join(folder, "a.txt") })).rejects.toMatchObject({
      code: "NOT_A_FOLDER",
    });
    await expect(browse({ kind: "local", path: "relative/path" })).rejects.toMatchObject({ code: "INVALID_PATH" });
    await expect(browse({ kind: "nope" })).rejects.toBeInstanceOf(BrowseError);
  });
});

describe("browsing a job's snapshots", () => {
  it("lists a snapshot's folder in pages, searches across snapshots and lists one path's versions", async () => {
    const source = join(dir, "source");
    await mkdir(join(source, "docs"), { recursive: true });
    for (let index = 0; index < 5; index++) await writeFile(join(source, "docs", `file-${index}.txt`), `v1 ${index}`);
    const repository = join(dir, "repository");
    const repo = await initRepository(await prepareStorage(repository, {}), "browse-password");
    const first = await backup(repo, { paths: [source], hostname: "host" });
    await writeFile(join(source, "docs", "file-0.txt"), "version two, longer");
    const second = await backup(repo, { paths: [source], hostname: "host" });
    await repo.storage.close();

    const docs = `${source}/docs`;
    const page1 = (await browse(
      { kind: "snapshot", snapshotId: first.snapshotId, path: docs, limit: 3 },
      repository,
    )) as Extract<BrowseCommandResult, { kind: "snapshot" }>;
    expect(page1.snapshotId).toBe(first.snapshotId);
    expect(page1.entries.map((entry) => entry.name)).toEqual(["file-0.txt", "file-1.txt", "file-2.txt"]);
    expect(page1.entries[0]).toMatchObject({ path: `${docs}/file-0.txt`, type: "file", size: 4 });
    expect(page1.nextCursor).toBe("file-2.txt");
    const page2 = (await browse(
      { kind: "snapshot", snapshotId: first.snapshotId, path: docs, cursor: page1.nextCursor, limit: 3 },
      repository,
    )) as typeof page1;
    expect(page2.entries.map((entry) => entry.name)).toEqual(["file-3.txt", "file-4.txt"]);
    expect(page2.nextCursor).toBeNull();

    const search = (await browse({ kind: "search", pattern: "FILE-[01].txt" }, repository)) as Extract<
      BrowseCommandResult,
      { kind: "search" }
    >;
    expect(search.snapshotsSearched).toBe(2);
    expect(search.nextCursor).toBeNull();
    // Newest snapshot first; names regardless of case unless asked otherwise.
    expect(search.matches.map((match) => [match.snapshotId, match.name])).toEqual([
      [second.snapshotId, "file-0.txt"],
      [second.snapshotId, "file-1.txt"],
      [first.snapshotId, "file-0.txt"],
      [first.snapshotId, "file-1.txt"],
    ]);
    const exactCase = (await browse(
      { kind: "search", pattern: "FILE-*", caseInsensitive: false },
      repository,
    )) as typeof search;
    expect(exactCase.matches).toEqual([]);
    const limited = (await browse({ kind: "search", pattern: "*.txt", limit: 3 }, repository)) as typeof search;
    expect(limited.matches).toHaveLength(3);
    const rest = (await browse(
      { kind: "search", pattern: "*.txt", limit: 100, cursor: limited.nextCursor },
      repository,
    )) as typeof search;
    expect(rest.matches).toHaveLength(7);
    expect(rest.nextCursor).toBeNull();
    const onlyFirst = (await browse(
      { kind: "search", pattern: "file-0.txt", snapshotIds: [first.snapshotId] },
      repository,
    )) as typeof search;
    expect(onlyFirst.matches.map((match) => match.size)).toEqual([4]);

    const versions = (await browse({ kind: "versions", path: `${docs}/file-0.txt` }, repository)) as Extract<
      BrowseCommandResult,
      { kind: "versions" }
    >;
    expect(versions.versions.map((version) => [version.snapshotId, version.status, version.entry?.size])).toEqual([
      [second.snapshotId, "changed", 19],
      [first.snapshotId, "added", 4],
    ]);
    const unchanged = (await browse({ kind: "versions", path: `${docs}/file-1.txt` }, repository)) as typeof versions;
    expect(unchanged.versions.map((version) => version.status)).toEqual(["unchanged", "added"]);
    const absent = (await browse({ kind: "versions", path: `${docs}/never.txt` }, repository)) as typeof versions;
    expect(absent).toMatchObject({ versions: [], snapshotsSearched: 2, truncated: false });

    await expect(
      browse({ kind: "snapshot", snapshotId: first.snapshotId, path: `${docs}/missing` }, repository),
    ).rejects.toMatchObject({ code: "PATH_NOT_FOUND" });
    await expect(browse({ kind: "snapshot", snapshotId: "f".repeat(64) }, repository)).rejects.toMatchObject({
      code: "SNAPSHOT_NOT_FOUND",
    });
  });
});
