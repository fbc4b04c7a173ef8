import { parseArgs } from "node:util";
import { type CheckReport, check } from "@e3/engine";
import { cancellation, commonOptions, exitCodes, open, print, UsageError } from "../context.ts";
import { formatBytes, progressPrinter } from "../output.ts";

// restic's `check [--read-data | --read-data-subset n/t|x%]`: exit 0 when nothing is wrong, 1 naming the damage:
// every problem found, then each damaged snapshot with the files and folders a restore of it would lose.

function reportLines(report: CheckReport): string {
  const lines = [
    `${report.snapshots} snapshots, ${report.packs} packs, ${report.blobs} blobs` +
      (report.packsRead ? `; read ${report.packsRead} packs (${formatBytes(report.bytesRead)})` : ""),
    ...report.hints.map((hint) => `hint: ${hint}`),
  ];
  if (report.ok) {
    lines.push("no errors were found");
    return lines.join("\n");
  }
  lines.push(...report.errors.map((error) => `error: ${error.message}`));
  if (report.errorCount > report.errors.length)
    lines.push(`… and ${report.errorCount - report.errors.length} more errors`);
  for (const snapshot of report.damaged) {
    lines.push(`snapshot ${snapshot.id.slice(0, 8)} of ${snapshot.time} (${snapshot.paths.join(", ")}) lost data:`);
    lines.push(...snapshot.folders.map((folder) => `  folder ${folder} (its contents are unknown)`));
    lines.push(...snapshot.files.map((file) => `  file ${file}`));
  }
  lines.push(`${report.errorCount} errors found; ${report.damaged.length} snapshots lost data`);
  return lines.join("\n");
}

export async function checkCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...commonOptions,
      "read-data": { type: "boolean", default: false },
      "read-data-subset": { type: "string" },
    },
  });
  if (positionals.length) throw new UsageError(`check takes no arguments (got ${positionals.join(" ")})`);
  if (values["read-data"] && values["read-data-subset"] !== undefined) {
    throw new UsageError("give either --read-data or --read-data-subset, not both");
  }
  const subset = values["read-data-subset"];
  if (subset !== undefined && !/^(\d+\/\d+|\d+(\.\d+)?%)$/.test(subset)) {
    throw new UsageError(`--read-data-subset takes n/t (e.g. 1/5) or x% (e.g. 5%), not ${JSON.stringify(subset)}`);
  }
  const repository = await open(values);
  const printer = progressPrinter(values.json);
  const report = await check(repository, {
    readData: values["read-data"],
    ...(subset !== undefined ? { readDataSubset: subset } : {}),
    signal: cancellation(),
    onProgress: printer.update,
  }).finally(printer.done);
  print(values.json, { message_type: "check_summary", ...report }, reportLines(report));
  return report.ok ? exitCodes.ok : exitCodes.failed;
}
