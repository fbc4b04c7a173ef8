import type { PlatformPath } from "node:path";

// What differs between the operating systems the agent runs on, behind one interface: where its files live, how it
// becomes a service, who may read its folders, which disks the source picker offers, and volume snapshots (VSS).
// Each platform (linux.ts, windows.ts) is built on SystemCalls, the only door to the operating system beyond
// ordinary file I/O of the agent's own state; the unit tests fake that door and record what went through it.

export type ExecResult = { code: number; stdout: string; stderr: string };

export interface SystemCalls {
  /** Runs a program (no shell) and resolves with its exit code and output; rejects only when it cannot start. */
  exec(file: string, args: string[], options?: { signal?: AbortSignal }): Promise<ExecResult>;
  writeFile(path: string, data: string | Uint8Array, mode: number): Promise<void>;
  /** The file's bytes, or undefined when it does not exist. */
  readFile(path: string): Promise<Buffer | undefined>;
  copyFile(from: string, to: string, mode: number): Promise<void>;
  removeFile(path: string): Promise<void>;
  makeDirectory(path: string, mode: number): Promise<void>;
  /** Root on Linux, an elevated Administrator on Windows. */
  isPrivileged(): Promise<boolean>;
  /** The running executable and the arguments that start the agent again (the launcher and script from sources). */
  selfCommand(): { file: string; args: string[]; standalone: boolean };
  /** A file embedded in the single executable (the Windows service wrapper), or undefined when run from sources. */
  embeddedAsset(name: string): Buffer | undefined;
}

export type AgentLocations = {
  configFile: string;
  stateDir: string;
  logFile: string;
};

export type ServiceOptions = {
  /** Linux: the dedicated system user (default) or root; Windows: LocalSystem (default) or LocalService. */
  account?: string | undefined;
  locations: AgentLocations;
};

export type ServiceState = {
  installed: boolean;
  running: boolean;
  /** One line for people: the service manager's own words. */
  detail: string;
};

/** A disk or mount point the portal's source picker offers. */
export type Drive = { path: string; label?: string; fileSystem?: string; totalBytes?: number; freeBytes?: number };

/** Shadow copies of the volumes holding some paths: read `map(path)` instead of `path`, then release. */
export type VolumeSnapshot = {
  /** Where `path` can be read inside the snapshot (the path itself when its volume has none). */
  map(path: string): string;
  release(): Promise<void>;
};

export class PlatformError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Platform {
  readonly os: "linux" | "windows";
  readonly path: PlatformPath;
  /** Default locations of agent.conf, the state folder (runs under `<state>/runs`) and the log file. */
  defaultLocations(env: NodeJS.ProcessEnv): AgentLocations;
  /** Makes the config and state folders readable by the service account (and administrators) only. */
  protectFolders(locations: AgentLocations, account?: string): Promise<void>;
  /** Lets the desktop user read one file of the state folder (the status page's address and token). */
  shareWithDesktopUser(file: string): Promise<void>;
  installService(options: ServiceOptions, say: (line: string) => void): Promise<void>;
  uninstallService(say: (line: string) => void): Promise<void>;
  serviceStatus(): Promise<ServiceState>;
  listDrives(): Promise<Drive[]>;
  /** Shadow copies of the volumes holding `paths`; on a platform without them, a snapshot that maps nothing. */
  snapshotVolumes(paths: string[], stateDir: string, signal?: AbortSignal): Promise<VolumeSnapshot>;
  /** Releases shadow copies a killed agent left behind (their ids are recorded in the state folder). */
  releaseLeftoverSnapshots(stateDir: string): Promise<void>;
}

export const serviceName = "e3-backup-agent";

/** Runs `work` on a snapshot of the volumes holding `paths`, released on every way out of it. */
export async function withVolumeSnapshot<T>(
  platform: Platform,
  paths: string[],
  stateDir: string,
  signal: AbortSignal | undefined,
  work: (snapshot: VolumeSnapshot) => Promise<T>,
): Promise<T> {
  const snapshot = await platform.snapshotVolumes(paths, stateDir, signal);
  try {
    return await work(snapshot);
  } finally {
    await snapshot.release();
  }
}

export function failed(result: ExecResult, what: string): PlatformError {
  const output = (result.stderr.trim() || result.stdout.trim()).split(/\r?\n/).slice(-3).join(" ");
  return new PlatformError("PLATFORM_COMMAND_FAILED", `${what} failed (exit code ${result.code}): ${output}`);
}
