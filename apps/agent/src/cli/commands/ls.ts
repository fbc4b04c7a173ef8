import { parseArgs } from "node:util";
import { findSnapshot, RepositoryReader, walkSnapshot } from "@e3/engine";
import { commonOptions, exitCodes, open, print, UsageError } from "../context.ts";

export async function lsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: commonOptions, allowPositionals: true });
  const [reference, path = "/"] = positionals;
  if (!reference || positionals.length > 2) throw new UsageError("ls takes a snapshot and at most one path");
  const repository = await open(values);
  const reader = new RepositoryReader(repository.key, repository.storage);
  const snapshot = await findSnapshot(reader, reference);
  if (values.json) {
    print(true, { struct_type: "snapshot", id: snapshot.id, time: snapshot.time, paths: snapshot.paths }, "");
  }
  for await (const entry of walkSnapshot(reader, snapshot, path)) {
    if (values.json) print(true, { struct_type: "node", ...entry }, "");
    else process.stdout.write(`${entry.path}${entry.type === "dir" ? "/" : ""}\n`);
  }
  return exitCodes.ok;
}
