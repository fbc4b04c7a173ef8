import { parseArgs } from "node:util";
import { repairIndex } from "@e3/engine";
import { cancellation, commonOptions, exitCodes, open, print, UsageError } from "../context.ts";
import { progressPrinter } from "../output.ts";

// restic's `repair index`: the index rebuilt from the pack headers (new index files first, the old ones removed
// last), for when index files are lost or damaged. Packs whose header cannot be read are named and left out.

export async function repairCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: commonOptions });
  if (positionals.length !== 1 || positionals[0] !== "index") throw new UsageError("repair takes one argument: index");
  const repository = await open(values);
  const printer = progressPrinter(values.json);
  const result = await repairIndex(repository, { signal: cancellation(), onProgress: printer.update }).finally(
    printer.done,
  );
  const lines = [
    `indexed ${result.blobs} blobs of ${result.packs} packs in ${result.indexFilesWritten} index files; removed ${result.indexFilesRemoved} old index files`,
    ...result.unreadablePacks.map((pack) => `error: pack ${pack.pack}: ${pack.message} (left out of the index)`),
  ];
  print(values.json, { message_type: "repair_index_summary", ...result }, lines.join("\n"));
  return result.unreadablePacks.length ? exitCodes.failed : exitCodes.ok;
}
