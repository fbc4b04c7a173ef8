import type { Platform, VolumeSnapshot } from "../platform/platform.ts";
import type { LogLevel } from "./run-reporter.ts";

// What a backup reads, in the engine's terms. The engine walks absolute "/"-separated paths; on Windows those are
// restic's names for drive paths (C:\Users\ann is /C/Users/ann in the tree, and C:\Users\ann in the snapshot's
// paths, as restic records it), mapped back to the drive, or into a VSS shadow copy of it when the job's policy
// asks for one. The shadow copies live only as long as the backup: deleted when it ends, fails or is cancelled.

export type BackupSource = {
  paths: string[];
  excludes: string[];
  includes: string[];
  readFrom?: (path: string) => string;
  recordPath?: (path: string) => string;
};

export class SourcePathError extends Error {
  readonly code = "INVALID_SOURCE";
}

const drivePath = /^([A-Za-z]):(?:[\\/](.*))?$/;

/** C:\Users\ann → /C/Users/ann (restic's tree names for a Windows path); a network path is refused. */
export function windowsWalkPath(path: string): string {
  const match = drivePath.exec(path.trim());
  if (!match) {
    throw new SourcePathError(
      `${path} is not a path on a drive (like C:\\Users); network paths cannot be backed up by the Windows agent yet, map the share to a drive letter or back it up where it is local`,
    );
  }
  const parts = (match[2] ?? "").split(/[\\/]+/).filter((part) => part.length > 0);
  return `/${(match[1] as string).toUpperCase()}${parts.map((part) => `/${part}`).join("")}`;
}

/** /C/Users/ann → C:\Users\ann (and /C → C:\), the inverse of windowsWalkPath. */
export function windowsDrivePath(walkPath: string): string {
  const match = /^\/([A-Z])(?:\/(.*))?$/.exec(walkPath);
  if (!match) throw new SourcePathError(`${walkPath} is not a drive path of the walk`);
  return `${match[1]}:\\${(match[2] ?? "").replaceAll("/", "\\")}`;
}

/** An exclude/include pattern as a Windows user writes it (C:\Users\*\AppData, *\Temp) in the walk's terms. */
export function windowsPattern(pattern: string): string {
  const slashed = pattern.replaceAll("\\", "/");
  const drive = /^([A-Za-z]):(\/.*)?$/.exec(slashed);
  return drive ? `/${(drive[1] as string).toUpperCase()}${drive[2] ?? ""}` : slashed;
}

type Log = (level: LogLevel, message: string) => void;

/**
 * Runs `work` on the job's source as the engine should read it on this platform: Windows paths converted, and with
 * `useVss` on Windows from shadow copies of their volumes, released however `work` ends (a failed release is
 * logged; the agent deletes leftover copies when it starts again).
 */
export async function withBackupSource<T>(
  options: {
    platform: Platform;
    paths: string[];
    excludes: string[];
    includes: string[];
    useVss: boolean;
    stateDir: string | undefined;
    signal: AbortSignal;
    log: Log;
  },
  work: (source: BackupSource) => Promise<T>,
): Promise<T> {
  const { platform, paths, excludes, includes, log } = options;
  if (platform.os !== "windows") {
    if (options.useVss) log("warn", "the job asks for VSS, which only Windows has; the files are read where they are");
    return work({ paths, excludes, includes });
  }
  const walkPaths = paths.map(windowsWalkPath);
  const source: BackupSource = {
    paths: walkPaths,
    excludes: excludes.map(windowsPattern),
    includes: includes.map(windowsPattern),
    readFrom: windowsDrivePath,
    recordPath: windowsDrivePath,
  };
  if (!options.useVss) return work(source);
  if (options.stateDir === undefined) {
    throw new SourcePathError("VSS needs the agent's state folder to record its shadow copies");
  }
  const drives = walkPaths.map(windowsDrivePath);
  log("info", `creating VSS shadow copies for ${drives.join(", ")}`);
  const snapshot: VolumeSnapshot = await platform.snapshotVolumes(drives, options.stateDir, options.signal);
  try {
    log("info", "reading the files from the shadow copies");
    return await work({ ...source, readFrom: (path) => snapshot.map(windowsDrivePath(path)) });
  } finally {
    await snapshot.release().then(
      () => log("info", "VSS shadow copies deleted"),
      (error: unknown) =>
        log(
          "warn",
          `the VSS shadow copies could not be deleted (${error instanceof Error ? error.message : String(error)}); the agent deletes them when it starts again`,
        ),
    );
  }
}
