import { parseArgs } from "node:util";
import { listSnapshots, RepositoryReader } from "@e3/engine";
import { commonOptions, exitCodes, open, print } from "../context.ts";
import { formatBytes, table } from "../output.ts";

export async function snapshotsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...commonOptions, host: { type: "string" }, tag: { type: "string", multiple: true, default: [] } },
  });
  const repository = await open(values);
  const snapshots = await listSnapshots(new RepositoryReader(repository.key, repository.storage), {
    ...(values.host ? { hostname: values.host } : {}),
    tags: values.tag,
  });
  if (values.json) {
    print(
      true,
      snapshots.map((snapshot) => ({ ...snapshot, short_id: snapshot.id.slice(0, 8) })),
      "",
    );
    return exitCodes.ok;
  }
  const rows = snapshots.map((snapshot) => [
    snapshot.id.slice(0, 8),
    new Date(Date.parse(snapshot.time)).toISOString().replace("T", " ").slice(0, 19),
    snapshot.hostname ?? "",
    (snapshot.tags ?? []).join(","),
    snapshot.paths.join(", "),
    snapshot.summary ? formatBytes(snapshot.summary.totalBytesProcessed) : "",
  ]);
  print(false, null, `${table(["ID", "Time", "Host", "Tags", "Paths", "Size"], rows)}\n${snapshots.length} snapshots`);
  return exitCodes.ok;
}
