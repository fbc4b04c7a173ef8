import { parseArgs } from "node:util";
import { type PruneSummary, prune } from "@e3/engine";
import { cancellation, collectGarbageSooner, commonOptions, exitCodes, open, print, UsageError } from "../context.ts";
import { formatBytes, progressPrinter } from "../output.ts";
import { packSizeSchema, parseByteSize } from "./backup.ts";

// restic's `prune [--max-unused P%|unlimited] [--max-repack-size SIZE] [--repack-uncompressed] [--pack-size MiB]
// [--dry-run]`: deletes what no snapshot uses, repacks partly used packs until at most P % of the repository is unused
// (5 % by default), at most SIZE of packs (unlimited by default), compressing what is stored uncompressed when asked.
// Under the exclusive lock; --dry-run plans only.

export const pruneOptions = {
  "max-unused": { type: "string" },
  "max-repack-size": { type: "string" },
  "repack-uncompressed": { type: "boolean", default: false },
  "pack-size": { type: "string" },
  "dry-run": { type: "boolean", default: false },
} as const;

/** --max-unused as restic takes it: "5%", "5" or "unlimited". */
export function parseMaxUnused(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === "unlimited") return Number.POSITIVE_INFINITY;
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!(percent >= 0 && percent <= 100)) {
    throw new UsageError(
      `--max-unused takes a percentage from 0% to 100% or "unlimited", not ${JSON.stringify(value)}`,
    );
  }
  return percent;
}

/** The repack options of prune and forget --prune, checked before the repository is opened. */
export function repackOptions(values: { "max-repack-size"?: string; "repack-uncompressed"?: boolean }) {
  const size = values["max-repack-size"];
  return {
    ...(size !== undefined ? { maxRepackSize: parseByteSize(size, "--max-repack-size") } : {}),
    ...(values["repack-uncompressed"] ? { repackUncompressed: true } : {}),
  };
}

export function pruneLines(summary: PruneSummary): string {
  const { packs, bytes, blobs } = summary;
  const verb = summary.dryRun ? "would" : "did";
  return [
    `${summary.snapshots} snapshots, ${summary.treesWalked} trees walked, ${blobs.used} of ${blobs.total} blobs in use`,
    `used:   ${formatBytes(bytes.used)}`,
    `unused: ${formatBytes(bytes.unused)}`,
    `${summary.dryRun ? "would delete" : "deleted"} ${packs.deleted} packs (${packs.unreferenced} named by no index), ` +
      `${summary.dryRun ? "would repack" : "repacked"} ${packs.repacked} (${formatBytes(bytes.repacked)}), kept ${packs.kept}`,
    blobs.compressed
      ? `${summary.dryRun ? "would compress" : "compressed"} ${blobs.compressed} blobs stored uncompressed`
      : "",
    summary.dryRun
      ? ""
      : `wrote ${packs.written} packs and ${summary.indexFiles.written} index files, removed ${summary.indexFiles.removed}`,
    `${verb === "would" ? "would free" : "freed"} ${formatBytes(Math.max(0, bytes.freed))}; unused afterwards ${formatBytes(bytes.unusedAfter)}`,
    `memory: ${summary.memory.bytesPerBlob} bytes per blob`,
  ]
    .filter(Boolean)
    .join("\n");
}

/** The summary as one JSON line. */
export function pruneJson(summary: PruneSummary) {
  return { message_type: "prune_summary", ...summary };
}

export async function pruneCommand(args: string[]): Promise<number> {
  collectGarbageSooner();
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...commonOptions, ...pruneOptions },
  });
  if (positionals.length) throw new UsageError(`prune takes no arguments (got ${positionals.join(" ")})`);
  const maxUnused = parseMaxUnused(values["max-unused"]);
  const packSize = values["pack-size"] === undefined ? undefined : packSizeSchema.parse(values["pack-size"]) * 2 ** 20;
  const repack = repackOptions(values);
  const repository = await open(values);
  const printer = progressPrinter(values.json);
  const summary = await prune(repository, {
    ...(maxUnused !== undefined ? { maxUnused } : {}),
    ...(packSize !== undefined ? { packSize } : {}),
    ...repack,
    dryRun: values["dry-run"],
    signal: cancellation(),
    onProgress: printer.update,
  }).finally(printer.done);
  print(values.json, pruneJson(summary), pruneLines(summary));
  return exitCodes.ok;
}
