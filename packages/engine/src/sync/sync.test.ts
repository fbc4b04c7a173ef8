import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FolderTarget } from "./folder-target.ts";
import type { LocalFile } from "./source.ts";
import { smallFileSize, syncFolder } from "./sync.ts";
import type { UploadContext } from "./target.ts";

// How a sync spreads its transfers: large files `transfers` at a time, small ones (and mtime-only fixes) in a
// lane of their own that takes `smallFileTransfers` at once (default 4 × transfers).

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "e3-sync-lanes-"));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A folder destination that records how many uploads of each kind run at once. */
class CountingTarget extends FolderTarget {
  readonly running = { small: 0, large: 0 };
  readonly most = { small: 0, large: 0 };

  override async upload(file: LocalFile, context: UploadContext): Promise<void> {
    const lane = file.size <= smallFileSize ? "small" : "large";
    this.running[lane]++;
    this.most[lane] = Math.max(this.most[lane], this.running[lane]);
    try {
      // Long enough for every free worker to pick up a file meanwhile; nothing is timed.
      await sleep(30);
      await super.upload(file, context);
    } finally {
      this.running[lane]--;
    }
  }
}

async function tree(name: string, small: number, large: number): Promise<string> {
  const source = join(work, name);
  await mkdir(source, { recursive: true });
  for (let index = 0; index < small; index++) await writeFile(join(source, `s${index}.txt`), `small ${index}`);
  for (let index = 0; index < large; index++)
    await writeFile(join(source, `l${index}.bin`), Buffer.alloc(smallFileSize + 1, index));
  return source;
}

describe("transfer lanes", () => {
  it("sends small files smallFileTransfers at a time beside transfers large ones", async () => {
    const source = await tree("lanes", 12, 3);
    const target = new CountingTarget(join(work, "lanes-copy"));
    const result = await syncFolder({ source, target, transfers: 1, smallFileTransfers: 5 });
    expect(result).toMatchObject({ status: "success", filesTransferred: 15 });
    expect(target.most).toEqual({ small: 5, large: 1 });
  });

  it("defaults the small-file lane to four times the transfers", async () => {
    const source = await tree("default-lanes", 20, 0);
    const target = new CountingTarget(join(work, "default-lanes-copy"));
    await syncFolder({ source, target, transfers: 2 });
    expect(target.most.small).toBe(8);
  });

  it("starts large files that sort after the small ones while the small ones are still going", async () => {
    const source = join(work, "order");
    await mkdir(join(source, "a-small"), { recursive: true });
    await mkdir(join(source, "z-large"), { recursive: true });
    // More small files than the checkers, the small lane and its queue take in at once (1 + 2 + 64).
    for (let index = 0; index < 120; index++) await writeFile(join(source, "a-small", `s${index}.txt`), `${index}`);
    for (let index = 0; index < 2; index++)
      await writeFile(join(source, "z-large", `l${index}.bin`), Buffer.alloc(smallFileSize + 1, index));
    const target = new CountingTarget(join(work, "order-copy"));
    const smallWhenLargeStarted: number[] = [];
    const upload = target.upload.bind(target);
    let smallDone = 0;
    target.upload = async (file, context) => {
      if (file.size > smallFileSize) smallWhenLargeStarted.push(smallDone);
      await upload(file, context);
      if (file.size <= smallFileSize) smallDone++;
    };
    const result = await syncFolder({ source, target, transfers: 1, smallFileTransfers: 2, checkers: 1 });
    expect(result).toMatchObject({ status: "success", filesTransferred: 122 });
    // The first large file went up before most small files were done (in path order it waited for ~56 of them).
    expect(smallWhenLargeStarted[0]).toBeLessThan(10);
    expect(result.plan.map((action) => action.path)).toEqual(result.plan.map((action) => action.path).sort());
  });

  it("refuses a lane width that is not a whole number from 1", async () => {
    const source = await tree("bad-lanes", 1, 0);
    const target = new FolderTarget(join(work, "bad-lanes-copy"));
    await expect(syncFolder({ source, target, smallFileTransfers: 0 })).rejects.toThrow(
      "smallFileTransfers must be 1 or more",
    );
  });
});
