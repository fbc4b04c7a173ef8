import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { expect } from "vitest";

// A folder described entry by entry (type, mode, size, mtime in ns, content hash, link target, inode group), to
// compare a source with what a restore produced, byte for byte and bit for bit.

export type ListedEntry = {
  path: string;
  type: "file" | "dir" | "symlink" | "other";
  mode: number;
  mtimeNs?: bigint;
  size?: bigint;
  sha256?: string;
  target?: string;
  /** For files with several links: the first path of its link group, so link structure compares across folders. */
  linkGroup?: string;
};

export async function listFolder(root: string, options: { dirTimes?: boolean } = {}): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  const firstPathOfInode = new Map<bigint, string>();
  const visit = async (relative: Buffer): Promise<void> => {
    const full = Buffer.concat([Buffer.from(root), Buffer.from("/"), relative]);
    const names = (await readdir(full, { encoding: "buffer" })).sort(Buffer.compare);
    for (const name of names) {
      const path = relative.length ? Buffer.concat([relative, Buffer.from("/"), name]) : name;
      const absolute = Buffer.concat([Buffer.from(root), Buffer.from("/"), path]);
      const stats = await lstat(absolute, { bigint: true });
      const shown = path.toString("latin1");
      const mode = Number(stats.mode & 0o7777n);
      if (stats.isDirectory()) {
        entries.push({ path: shown, type: "dir", mode, ...(options.dirTimes ? { mtimeNs: stats.mtimeNs } : {}) });
        await visit(path);
      } else if (stats.isSymbolicLink()) {
        entries.push({ path: shown, type: "symlink", mode: 0, target: (await readlink(absolute)).toString() });
      } else if (stats.isFile()) {
        const entry: ListedEntry = {
          path: shown,
          type: "file",
          mode,
          mtimeNs: stats.mtimeNs,
          size: stats.size,
          sha256: createHash("sha256")
            .update(await readFile(absolute))
            .digest("hex"),
        };
        if (stats.nlink > 1n) {
          if (!firstPathOfInode.has(stats.ino)) firstPathOfInode.set(stats.ino, shown);
          entry.linkGroup = firstPathOfInode.get(stats.ino);
        }
        entries.push(entry);
      } else entries.push({ path: shown, type: "other", mode });
    }
  };
  await visit(Buffer.alloc(0));
  return entries;
}

/**
 * The two listings match entry for entry, with mtimes within `mtimeToleranceNs`: Node's utimes takes seconds as a
 * double, so a restore through it lands up to ~240 ns away from the recorded nanoseconds.
 */
export function expectSameListing(actual: ListedEntry[], expected: ListedEntry[], mtimeToleranceNs = 1000n): void {
  const withoutTimes = (entries: ListedEntry[]) => entries.map(({ mtimeNs: _, ...rest }) => rest);
  expect(withoutTimes(actual)).toEqual(withoutTimes(expected));
  actual.forEach((entry, i) => {
    const wanted = expected[i]?.mtimeNs;
    if (entry.mtimeNs === undefined || wanted === undefined) return;
    const difference = entry.mtimeNs > wanted ? entry.mtimeNs - wanted : wanted - entry.mtimeNs;
    expect(difference, `mtime of ${entry.path}`).toBeLessThanOrEqual(mtimeToleranceNs);
  });
}
