import { statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { EngineError } from "../errors.ts";
import { type Progress, ProgressMeter } from "../progress.ts";
import { Bandwidth, parseBandwidth } from "../storage/bandwidth.ts";
import { Semaphore } from "../storage/semaphore.ts";
import { compareFile, type DestinationFile, deletionRefusal, filesToDelete, type Hashes } from "./plan.ts";
import { WorkQueue } from "./pool.ts";
import { RcloneFilter } from "./rclone-filter.ts";
import { type LocalFile, md5OfFile, walkFolder } from "./source.ts";
import type { SyncTarget } from "./target.ts";

// One-way folder mirroring as rclone does it (`rclone copy` / `rclone sync`): the source folder walked once, the
// destination listed once, every file compared by `checkers` workers (plan.ts decides), changed files sent by
// `transfers` workers (small files by `smallFileTransfers` more) through one shared bandwidth limit, and in sync mode the destination's extra files
// deleted last, only when everything before succeeded. A file that vanished or is locked is reported and
// skipped (the result is a warning); a file the destination refuses fails alone (the result is failed).

const optionsSchema = z.object({
  source: z.string().min(1, "the source folder is missing"),
  mode: z.enum(["copy", "sync"], { error: 'mode must be "copy" or "sync"' }).default("copy"),
  compare: z
    .enum(["default", "checksum", "sizeOnly"], { error: "compare must be default, checksum or sizeOnly" })
    .default("default"),
  transfers: z.int("transfers must be a whole number").min(1, "transfers must be 1 or more").max(256).default(4),
  smallFileTransfers: z
    .int("smallFileTransfers must be a whole number")
    .min(1, "smallFileTransfers must be 1 or more")
    .max(1024)
    .optional(),
  checkers: z.int("checkers must be a whole number").min(1, "checkers must be 1 or more").max(256).default(8),
  bwlimit: z.string().optional(),
  dryRun: z.boolean().default(false),
  allowEmptySource: z.boolean().default(false),
  filter: z
    .object({
      include: z.array(z.string()).optional(),
      exclude: z.array(z.string()).optional(),
      filter: z.array(z.string()).optional(),
      ignoreCase: z.boolean().optional(),
    })
    .default({}),
});

export type SyncOptions = z.input<typeof optionsSchema> & {
  target: SyncTarget;
  signal?: AbortSignal;
  onProgress?: (progress: SyncProgress) => void;
  onError?: (error: SyncFileError) => void;
};

export type SyncAction = { action: "upload" | "setMtime" | "delete"; path: string; size: number };

export type SyncFileError = {
  path: string;
  message: string;
  /** skipped: the source file vanished or could not be read (a warning); failed: the transfer failed. */
  kind: "skipped" | "failed";
  code?: string;
};

export type SyncProgress = Progress & {
  filesChecked: number;
  bytesChecked: number;
  filesToCheck: number;
  filesDeleted: number;
  bytesDeleted: number;
  /** Seconds left at the current rate, once every file is checked. */
  etaSeconds: number | undefined;
  /** Files being transferred right now. */
  currentFiles: string[];
};

export type SyncResult = {
  status: "success" | "warning" | "failed";
  dryRun: boolean;
  filesChecked: number;
  bytesChecked: number;
  filesTransferred: number;
  bytesTransferred: number;
  mtimesUpdated: number;
  filesDeleted: number;
  bytesDeleted: number;
  errors: SyncFileError[];
  /** Why deletions were skipped, when they were. */
  deletionsSkipped?: string;
  /** Every action decided (in a dry run: what would have been done). */
  plan: SyncAction[];
  elapsedMs: number;
};

/**
 * Files up to this size (and mtime-only updates) are small: each is one short request whose time is mostly the
 * round trip, so more of them go at once (smallFileTransfers, default 4 × transfers) than large files, which
 * share the bandwidth and hold a part buffer each. rclone's --transfers 4 covers both; 20 000 small files then
 * wait on 5 000 round trips in a row.
 */
export const smallFileSize = 1024 * 1024;

// Source-side trouble: the file went away or is locked; the rest of the sync goes on.
const sourceProblems = new Set(["ENOENT", "EACCES", "EPERM", "EBUSY", "ELOOP", "ECHANGED", "EISDIR"]);

export async function syncFolder(options: SyncOptions): Promise<SyncResult> {
  const settings = optionsSchema.parse(options);
  const { target, signal } = options;
  const filter = new RcloneFilter(settings.filter);
  const bandwidth = settings.bwlimit ? new Bandwidth(parseBandwidth(settings.bwlimit)) : undefined;
  checkSource(settings.source);
  const started = Date.now();
  const plan: SyncAction[] = [];
  const errors: SyncFileError[] = [];
  const inFlight = new Set<string>();
  const counts = { checked: 0, bytesChecked: 0, toCheck: 0, deleted: 0, bytesDeleted: 0, mtimes: 0, transferred: 0 };
  const meter = new ProgressMeter(
    "checking",
    options.onProgress &&
      ((progress) => {
        const left = progress.bytesTotal - progress.bytesDone;
        options.onProgress?.({
          ...progress,
          filesChecked: counts.checked,
          bytesChecked: counts.bytesChecked,
          filesToCheck: counts.toCheck,
          filesDeleted: counts.deleted,
          bytesDeleted: counts.bytesDeleted,
          etaSeconds:
            counts.checked === counts.toCheck && progress.bytesPerSecond > 0
              ? Math.ceil(left / progress.bytesPerSecond)
              : undefined,
          currentFiles: [...inFlight],
        });
      }),
  );
  /** `absolute`: the source file, to tell its read errors (skipped) from the destination's (failed). */
  const report = (path: string, error: unknown, absolute?: string) => {
    const code = (error as { code?: unknown }).code;
    const errorPath = (error as { path?: unknown }).path;
    const fromSource =
      typeof code === "string" &&
      sourceProblems.has(code) &&
      (code === "ECHANGED" || (absolute !== undefined && errorPath === absolute));
    const entry: SyncFileError = {
      path,
      message: fromSource ? sourceMessage(code as string) : ((error as Error).message ?? String(error)),
      kind: fromSource ? "skipped" : "failed",
      ...(typeof code === "string" ? { code } : {}),
    };
    errors.push(entry);
    meter.state.errors++;
    options.onError?.(entry);
  };

  try {
    await target.prepare(signal, settings.dryRun);
    const listing = target.list(filter, signal);
    // The source walk blocks; an unobserved rejection of the listing meanwhile must not crash the process.
    listing.catch(() => {});
    const { files: sourceFiles, problems } = walkFolder(settings.source, filter);
    for (const problem of problems) report(problem.path, problem.error, join(settings.source, problem.path));
    const destination = await listing;
    signal?.throwIfAborted();
    const refusal =
      settings.mode === "sync" &&
      deletionRefusal({
        sourceFiles: sourceFiles.size,
        destinationFiles: destination.size,
        listingErrors: 0,
        transferErrors: 0,
        allowEmptySource: settings.allowEmptySource,
      });
    if (refusal) throw new EngineError("DELETE_REFUSED", `${target.description}: nothing was changed: ${refusal}`);

    counts.toCheck = sourceFiles.size;
    meter.state.phase = "syncing";
    const checkers = new Semaphore(settings.checkers);
    const compareOptions = { mode: settings.compare, modifyWindowNs: target.modifyWindowNs };

    const decide = async (file: LocalFile, existing: DestinationFile | undefined) => {
      let verdict = compareFile(file, existing, compareOptions);
      if (verdict === "needMtime" && existing) {
        await target.loadMtime(existing, signal);
        verdict = compareFile(file, existing, compareOptions);
      }
      let hashes: Hashes | undefined;
      if (verdict === "needHash" && existing) {
        hashes = { source: await md5OfFile(file.absolute, signal), destination: await target.md5(existing, signal) };
        verdict = compareFile(file, existing, compareOptions, hashes);
      }
      return { verdict, md5: hashes?.source };
    };

    const transfer = async (
      file: LocalFile,
      existing: DestinationFile | undefined,
      action: "upload" | "setMtime",
      md5: string | undefined,
    ) => {
      inFlight.add(file.path);
      try {
        if (action === "setMtime" && existing) {
          await target.setMtime(existing, file, signal);
          counts.mtimes++;
        } else {
          await target.upload(file, {
            bandwidth,
            signal,
            md5,
            count: (bytes) => {
              meter.state.bytesDone += bytes;
            },
          });
          counts.transferred++;
        }
        meter.state.filesDone++;
      } finally {
        inFlight.delete(file.path);
      }
    };

    type Job = { file: LocalFile; existing: DestinationFile | undefined; action: "upload" | "setMtime"; md5?: string };
    // Room for a few dozen files per worker: checkers stay ahead of the transfers without queueing everything.
    const smallTransfers = settings.smallFileTransfers ?? settings.transfers * 4;
    const queues = {
      large: new WorkQueue<Job>(settings.transfers * 32),
      small: new WorkQueue<Job>(smallTransfers * 32),
    };
    const work = async (queue: WorkQueue<Job>) => {
      for (let job = await queue.pull(); job; job = await queue.pull()) {
        if (signal?.aborted) continue;
        try {
          await transfer(job.file, job.existing, job.action, job.md5);
        } catch (error) {
          if (!signal?.aborted) report(job.file.path, error, job.file.absolute);
        }
      }
    };
    const workers = [
      ...Array.from({ length: settings.transfers }, () => work(queues.large)),
      ...Array.from({ length: smallTransfers }, () => work(queues.small)),
    ];
    const check = async (file: LocalFile) => {
      try {
        const existing = destination.get(file.path);
        const decided = await decide(file, existing);
        counts.checked++;
        counts.bytesChecked += file.size;
        if (decided.verdict !== "upload" && decided.verdict !== "setMtime") return;
        plan.push({ action: decided.verdict, path: file.path, size: file.size });
        if (settings.dryRun) return;
        meter.state.filesTotal++;
        if (decided.verdict === "upload") meter.state.bytesTotal += file.size;
        const queue = decided.verdict === "setMtime" || file.size <= smallFileSize ? queues.small : queues.large;
        await queue.push({ file, existing, action: decided.verdict, ...(decided.md5 ? { md5: decided.md5 } : {}) });
      } catch (error) {
        if (!signal?.aborted) report(file.path, error, file.absolute);
      }
    };
    const checking = new Set<Promise<void>>();
    try {
      // Large files are checked first, so their lane works alongside the small files' from the start: in path
      // order, large files that sort after thousands of small ones (text/ after small/) queued for it only at the
      // end, one lane idle while the other worked.
      const paths = [...sourceFiles.keys()].sort();
      for (const large of [true, false]) {
        for (const path of paths) {
          const file = sourceFiles.get(path)!;
          if (file.size > smallFileSize !== large) continue;
          const release = await checkers.acquire(signal);
          const task: Promise<void> = check(file).finally(() => {
            release();
            checking.delete(task);
          });
          checking.add(task);
        }
      }
      await Promise.all(checking);
    } finally {
      queues.large.close();
      queues.small.close();
      await Promise.all(workers);
    }
    signal?.throwIfAborted();
    // Decided in completion order; reported in path order.
    plan.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

    let deletionsSkipped: string | undefined;
    if (settings.mode === "sync") {
      const doomed = filesToDelete(sourceFiles, destination.keys());
      deletionsSkipped = deletionRefusal({
        sourceFiles: sourceFiles.size,
        destinationFiles: destination.size,
        listingErrors: problems.filter((problem) => problem.path === "" || !sourceFiles.has(problem.path)).length,
        transferErrors: errors.filter((error) => error.kind === "failed").length,
        allowEmptySource: settings.allowEmptySource,
      });
      if (deletionsSkipped === undefined) {
        meter.state.phase = "deleting";
        await Promise.all(
          doomed.map(async (path) => {
            plan.push({ action: "delete", path, size: destination.get(path)?.size ?? 0 });
            if (settings.dryRun) return;
            try {
              await checkers.run(() => target.remove(path, signal), signal);
              counts.deleted++;
              counts.bytesDeleted += destination.get(path)?.size ?? 0;
            } catch (error) {
              if (signal?.aborted) throw signal.reason;
              report(path, error);
            }
          }),
        );
      } else if (doomed.length > 0) {
        deletionsSkipped = `${doomed.length} file(s) not deleted: ${deletionsSkipped}`;
      } else {
        deletionsSkipped = undefined;
      }
    }
    meter.state.phase = "finishing";
    await target.finish(signal);
    const failed = errors.some((error) => error.kind === "failed");
    return {
      status: failed ? "failed" : errors.length > 0 || deletionsSkipped ? "warning" : "success",
      dryRun: settings.dryRun,
      filesChecked: counts.checked,
      bytesChecked: counts.bytesChecked,
      filesTransferred: counts.transferred,
      bytesTransferred: meter.state.bytesDone,
      mtimesUpdated: counts.mtimes,
      filesDeleted: counts.deleted,
      bytesDeleted: counts.bytesDeleted,
      errors,
      ...(deletionsSkipped ? { deletionsSkipped } : {}),
      plan,
      elapsedMs: Date.now() - started,
    };
  } finally {
    meter.finish(signal?.aborted ? "cancelled" : "done");
  }
}

function checkSource(source: string): void {
  try {
    if (statSync(source).isDirectory()) return;
  } catch (error) {
    throw new EngineError(
      "SOURCE_UNREADABLE",
      `the source folder ${source} cannot be read (${(error as NodeJS.ErrnoException).code ?? error}); check the path and its permissions`,
      { cause: error },
    );
  }
  throw new EngineError("SOURCE_UNREADABLE", `the source ${source} is not a folder; sync copies a folder's contents`);
}

function sourceMessage(code: string): string {
  if (code === "ENOENT") return "the file vanished during the sync; skipped";
  if (code === "ECHANGED") return "the file changed while it was read; skipped, the next sync sends it";
  return `the file could not be read (${code}: locked or no permission); skipped`;
}
