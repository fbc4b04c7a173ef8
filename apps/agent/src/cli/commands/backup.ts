import { parseArgs } from "node:util";
import { backup } from "@e3/engine";
import { z } from "zod";
import { withBackupSource } from "../../agent/backup-source.ts";
import { platformFor } from "../../platform/index.ts";
import { cancellation, collectGarbageSooner, commonOptions, exitCodes, open, print, UsageError } from "../context.ts";
import { formatBytes, formatDuration, progressPrinter } from "../output.ts";

/** restic's --pack-size: MiB, 4 to 128. */
export const packSizeSchema = z.coerce
  .number({ error: "--pack-size must be a number of MiB" })
  .int("--pack-size must be a whole number of MiB")
  .min(4, "--pack-size must be at least 4 (MiB)")
  .max(128, "--pack-size must be at most 128 (MiB)");

/** restic's size syntax for --exclude-larger-than: a number of bytes, or with k, m, g or t (powers of 1024). */
export function parseByteSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!match) throw new UsageError(`${flag} must be a size like 500k, 100m or 2g, not ${JSON.stringify(text)}`);
  const power = " kmgt".indexOf((match[2] || " ").toLowerCase());
  return Math.floor(Number(match[1]) * 1024 ** power);
}

const readConcurrencySchema = z.coerce
  .number({ error: "--read-concurrency must be a number of files" })
  .int("--read-concurrency must be a whole number")
  .min(1, "--read-concurrency must be at least 1")
  .max(64, "--read-concurrency must be at most 64");

/** restic's --limit-upload: KiB/s for all uploads together. */
const limitUploadSchema = z.coerce
  .number({ error: "--limit-upload must be a number of KiB/s" })
  .int("--limit-upload must be a whole number of KiB/s")
  .min(1, "--limit-upload must be at least 1 (KiB/s); leave it out for no limit")
  .max(10_000_000, "--limit-upload must be at most 10000000 (KiB/s)");

const compressionSchema = z.enum(["auto", "off", "max"], { error: "--compression must be auto, off or max" });

export async function backupCommand(args: string[]): Promise<number> {
  collectGarbageSooner("old only");
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...commonOptions,
      exclude: { type: "string", multiple: true, default: [] },
      include: { type: "string", multiple: true, default: [] },
      tag: { type: "string", multiple: true, default: [] },
      host: { type: "string" },
      parent: { type: "string" },
      force: { type: "boolean", default: false },
      compression: { type: "string", default: "auto" },
      "pack-size": { type: "string" },
      "read-concurrency": { type: "string" },
      "limit-upload": { type: "string" },
      "exclude-caches": { type: "boolean", default: false },
      "exclude-larger-than": { type: "string" },
      "one-file-system": { type: "boolean", short: "x", default: false },
      "fail-on-unreadable": { type: "boolean", default: false },
    },
  });
  if (positionals.length === 0) throw new UsageError("nothing to back up: give one or more paths");
  const compression = compressionSchema.parse(values.compression);
  const packSizeMiB = values["pack-size"] === undefined ? undefined : packSizeSchema.parse(values["pack-size"]);
  const readConcurrency =
    values["read-concurrency"] === undefined ? undefined : readConcurrencySchema.parse(values["read-concurrency"]);
  const limitUpload =
    values["limit-upload"] === undefined ? undefined : limitUploadSchema.parse(values["limit-upload"]);
  const excludeLargerThan =
    values["exclude-larger-than"] === undefined
      ? undefined
      : parseByteSize(values["exclude-larger-than"], "--exclude-larger-than");
  const repository = await open(values);
  const printer = progressPrinter(values.json);
  const signal = cancellation();
  // On Windows, C:\Users\ann is backed up as restic stores it (/C/Users/ann in the tree); elsewhere as given.
  const sourceOptions = {
    platform: platformFor(),
    paths: positionals,
    excludes: values.exclude,
    includes: values.include,
    useVss: false,
    stateDir: undefined,
    signal,
    log: () => {},
  };
  const result = await withBackupSource(sourceOptions, (source) =>
    backup(repository, {
      ...source,
      tags: values.tag,
      compression,
      ...(packSizeMiB ? { packSize: packSizeMiB * 1024 * 1024 } : {}),
      ...(readConcurrency ? { fileConcurrency: readConcurrency } : {}),
      ...(limitUpload ? { uploadLimit: `${limitUpload}K` } : {}),
      ...(excludeLargerThan === undefined ? {} : { excludeLargerThan }),
      excludeCaches: values["exclude-caches"],
      oneFileSystem: values["one-file-system"],
      failOnUnreadable: values["fail-on-unreadable"],
      parent: values.force ? null : values.parent,
      ...(values.host ? { hostname: values.host } : {}),
      signal,
      onProgress: printer.update,
      onError: (error) => {
        if (values.json)
          print(true, { message_type: "error", item: error.path, error: { message: error.message } }, "");
        else process.stderr.write(`error: ${error.path}: ${error.message}\n`);
      },
    }),
  ).finally(printer.done);
  const { summary } = result;
  const seconds = (Date.parse(summary.backupEnd) - Date.parse(summary.backupStart)) / 1000;
  print(
    values.json,
    {
      message_type: "summary",
      snapshot_id: result.snapshotId,
      files_new: summary.filesNew,
      files_changed: summary.filesChanged,
      files_unmodified: summary.filesUnmodified,
      dirs_new: summary.dirsNew,
      dirs_changed: summary.dirsChanged,
      dirs_unmodified: summary.dirsUnmodified,
      data_blobs: summary.dataBlobs,
      tree_blobs: summary.treeBlobs,
      data_added: summary.dataAdded,
      data_added_packed: summary.dataAddedPacked,
      total_files_processed: summary.totalFilesProcessed,
      total_bytes_processed: summary.totalBytesProcessed,
      total_duration: seconds,
      errors: result.errors.length,
    },
    [
      `Files:       ${summary.filesNew} new, ${summary.filesChanged} changed, ${summary.filesUnmodified} unmodified`,
      `Dirs:        ${summary.dirsNew} new, ${summary.dirsChanged} changed, ${summary.dirsUnmodified} unmodified`,
      `Added to the repository: ${formatBytes(summary.dataAdded)} (${formatBytes(summary.dataAddedPacked)} stored)`,
      "",
      `processed ${summary.totalFilesProcessed} files, ${formatBytes(summary.totalBytesProcessed)} in ${formatDuration(seconds * 1000)}`,
      `snapshot ${result.snapshotId.slice(0, 8)} saved`,
      ...(result.errors.length ? [`${result.errors.length} files or folders could not be read (listed above)`] : []),
    ].join("\n"),
  );
  return result.errors.length > 0 ? exitCodes.incomplete : exitCodes.ok;
}
