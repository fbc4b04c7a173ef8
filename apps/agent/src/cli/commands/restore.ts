import { parseArgs } from "node:util";
import { findSnapshot, RepositoryReader, restoreSnapshot } from "@e3/engine";
import { z } from "zod";
import { cancellation, commonOptions, exitCodes, open, print, UsageError } from "../context.ts";
import { formatBytes, progressPrinter } from "../output.ts";

const overwriteSchema = z.enum(["always", "if-changed", "never"], {
  error: "--overwrite must be always, if-changed or never",
});

export async function restoreCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...commonOptions,
      target: { type: "string" },
      include: { type: "string", multiple: true, default: [] },
      overwrite: { type: "string", default: "always" },
    },
  });
  const [reference] = positionals;
  if (!reference || positionals.length > 1) throw new UsageError("restore takes exactly one snapshot");
  if (!values.target) throw new UsageError("restore needs --target DIR");
  const overwrite = overwriteSchema.parse(values.overwrite);
  const repository = await open(values);
  const snapshot = await findSnapshot(new RepositoryReader(repository.key, repository.storage), reference);
  const printer = progressPrinter(values.json);
  let failures = 0;
  const summary = await restoreSnapshot(repository, snapshot, {
    target: values.target,
    ...(values.include.length ? { include: values.include } : {}),
    overwrite,
    signal: cancellation(),
    onProgress: printer.update,
    onError: (error) => {
      failures++;
      if (values.json) print(true, { message_type: "error", item: error.path, error: { message: error.message } }, "");
      else process.stderr.write(`error: ${error.path}: ${error.message}\n`);
    },
  }).finally(printer.done);
  print(
    values.json,
    { message_type: "summary", snapshot_id: snapshot.id, ...summary },
    `restored ${summary.filesRestored} files (${formatBytes(summary.bytesRestored)}) of snapshot ${snapshot.id.slice(0, 8)} to ${values.target}` +
      (summary.filesSkipped ? `, ${summary.filesSkipped} left as they were` : "") +
      (failures ? `; ${failures} could not be restored (listed above)` : ""),
  );
  return failures > 0 ? exitCodes.failed : exitCodes.ok;
}
