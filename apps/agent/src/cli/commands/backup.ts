import { parseArgs } from "node:util";
import { backup } from "@e3/engine";
import { z } from "zod";
import { cancellation, commonOptions, exitCodes, open, print, UsageError } from "../context.ts";
import { formatBytes, formatDuration, progressPrinter } from "../output.ts";

/** restic's --pack-size: MiB, 4 to 128. */
const packSizeSchema = z.coerce
  .number({ error: "--pack-size must be a number of MiB" })
  .int("--pack-size must be a whole number of MiB")
  .min(4, "--pack-size must be at least 4 (MiB)")
  .max(128, "--pack-size must be at most 128 (MiB)");

const compressionSchema = z.enum(["auto", "off", "max"], { error: "--compression must be auto, off or max" });

export async function backupCommand(args: string[]): Promise<number> {
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
    },
  });
  if (positionals.length === 0) throw new UsageError("nothing to back up: give one or more paths");
  const compression = compressionSchema.parse(values.compression);
  const packSizeMiB = values["pack-size"] === undefined ? undefined : packSizeSchema.parse(values["pack-size"]);
  const repository = await open(values);
  const printer = progressPrinter(values.json);
  const result = await backup(repository, {
    paths: positionals,
    excludes: values.exclude,
    includes: values.include,
    tags: values.tag,
    compression,
    ...(packSizeMiB ? { packSize: packSizeMiB * 1024 * 1024 } : {}),
    parent: values.force ? null : values.parent,
    ...(values.host ? { hostname: values.host } : {}),
    signal: cancellation(),
    onProgress: printer.update,
    onError: (error) => {
      if (values.json) print(true, { message_type: "error", item: error.path, error: { message: error.message } }, "");
      else process.stderr.write(`error: ${error.path}: ${error.message}\n`);
    },
  }).finally(printer.done);
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
