import { parseArgs } from "node:util";
import {
  forget,
  isEngineError,
  planRetention,
  prune,
  type RetentionGroup,
  type RetentionPolicy,
  type SnapshotWithId,
  snapshotDocument,
} from "@e3/engine";
import { z } from "zod";
import { cancellation, collectGarbageSooner, commonOptions, exitCodes, open, print, UsageError } from "../context.ts";
import { progressPrinter, table } from "../output.ts";
import { parseMaxUnused, pruneJson, pruneLines, pruneOptions, repackOptions } from "./prune.ts";

const counts = ["last", "hourly", "daily", "weekly", "monthly", "yearly"] as const;
const windows = ["", "-hourly", "-daily", "-weekly", "-monthly", "-yearly"] as const;

const countSchema = (flag: string) =>
  z.coerce
    .number({ error: `--${flag} takes a number of snapshots` })
    .int(`--${flag} takes a whole number of snapshots`)
    .min(0, `--${flag} cannot be negative`);

const capitalised = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/** The policy from restic's flags; a tag list is comma-separated with spaces trimmed, as restic's --keep-tag. */
function policyOf(values: Record<string, unknown>): RetentionPolicy {
  const policy: Record<string, unknown> = {};
  for (const period of counts) {
    const value = values[`keep-${period}`];
    if (typeof value === "string") policy[`keep${capitalised(period)}`] = countSchema(`keep-${period}`).parse(value);
  }
  for (const suffix of windows) {
    const value = values[`keep-within${suffix}`];
    if (typeof value === "string") policy[`keepWithin${capitalised(suffix.slice(1))}`] = value;
  }
  const tags = values["keep-tag"] as string[];
  if (tags.length) policy.keepTags = tags.map((list) => list.split(",").map((tag) => tag.trim()));
  return policy as RetentionPolicy;
}

const snapshotJson = (snapshot: SnapshotWithId) => ({
  ...snapshotDocument(snapshot),
  id: snapshot.id,
  short_id: snapshot.id.slice(0, 8),
});

/** restic's `forget --json` group: tags (null without --group-by tags), host, paths, keep, remove, reasons. */
function groupJson(group: RetentionGroup<SnapshotWithId>) {
  const orNull = <T>(list: T[]) => (list.length ? list : null); // Go writes an empty slice as null
  return {
    tags: null,
    host: group.hostname,
    paths: group.paths,
    keep: orNull(group.keep.map((kept) => snapshotJson(kept.snapshot))),
    remove: orNull(group.remove.map(snapshotJson)),
    reasons: orNull(
      group.keep.map((kept) => ({
        snapshot: snapshotDocument(kept.snapshot),
        matches: kept.reasons,
        // omitempty, as restic's counters
        counters: Object.fromEntries(Object.entries(kept.counters).filter(([, left]) => left !== 0)),
      })),
    ),
  };
}

function snapshotRows(snapshots: { snapshot: SnapshotWithId; reasons: string[] }[]): string {
  return table(
    ["ID", "Time", "Host", "Tags", "Reasons", "Paths"],
    snapshots.map(({ snapshot, reasons }) => [
      snapshot.id.slice(0, 8),
      new Date(Date.parse(snapshot.time)).toISOString().replace("T", " ").slice(0, 19),
      snapshot.hostname ?? "",
      (snapshot.tags ?? []).join(","),
      reasons.join(", "),
      snapshot.paths.join(", "),
    ]),
  );
}

export async function forgetCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...commonOptions,
      ...Object.fromEntries(counts.map((period) => [`keep-${period}`, { type: "string" } as const])),
      ...Object.fromEntries(windows.map((suffix) => [`keep-within${suffix}`, { type: "string" } as const])),
      "keep-tag": { type: "string", multiple: true, default: [] },
      host: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      prune: { type: "boolean", default: false },
      "max-unused": pruneOptions["max-unused"],
      "max-repack-size": pruneOptions["max-repack-size"],
      "repack-uncompressed": pruneOptions["repack-uncompressed"],
    },
  });
  const policy = policyOf(values);
  let description: string;
  try {
    // Checked before the repository is opened: a policy mistake is a usage mistake.
    description = planRetention([], policy).description;
  } catch (error) {
    if (isEngineError(error, "INVALID_ARGUMENT")) throw new UsageError(error.message);
    throw error;
  }
  const maxUnused = parseMaxUnused(values["max-unused"]);
  const repack = repackOptions(values);
  if (values.prune) collectGarbageSooner();
  for (const flag of ["max-unused", "max-repack-size", "repack-uncompressed"] as const) {
    if (values[flag] !== undefined && values[flag] !== false && !values.prune) {
      throw new UsageError(`--${flag} goes with --prune`);
    }
  }
  const repository = await open(values);
  const dryRun = values["dry-run"];
  const { plan, removed } = await forget(repository, {
    policy,
    hostname: values.host,
    dryRun,
    force: values.force,
    signal: cancellation(),
  });
  const emptied = plan.groups.filter((group) => group.removesAll);
  if (dryRun && emptied.length && !values.force) {
    process.stderr.write(
      `warning: this policy removes every snapshot of ${emptied.length} group(s); forget refuses it without --force\n`,
    );
  }
  // restic's forget --prune: the prune runs after the snapshots are gone (a dry run has removed none, so its prune
  // would plan with them still there: it is left out).
  const pruneAfter = async () => {
    if (!values.prune || dryRun) return null;
    const printer = progressPrinter(values.json);
    return prune(repository, {
      ...(maxUnused !== undefined ? { maxUnused } : {}),
      ...repack,
      signal: cancellation(),
      onProgress: printer.update,
    }).finally(printer.done);
  };
  if (values.json) {
    print(true, plan.groups.map(groupJson), "");
    const pruned = await pruneAfter();
    if (pruned) print(true, pruneJson(pruned), "");
    return exitCodes.ok;
  }
  const lines = [`Applying Policy: ${description}`];
  for (const group of plan.groups) {
    lines.push(`snapshots for (host [${group.hostname}], paths [${group.paths.join(", ")}]):`);
    if (group.keep.length) lines.push(`keep ${group.keep.length} snapshots:`, snapshotRows(group.keep), "");
    if (group.remove.length) {
      lines.push(
        `remove ${group.remove.length} snapshots:`,
        snapshotRows(group.remove.map((snapshot) => ({ snapshot, reasons: [] }))),
        "",
      );
    }
  }
  lines.push(
    dryRun
      ? `would have removed ${plan.remove.length} snapshots (dry run)`
      : `removed ${removed.length} snapshots${values.prune ? "" : "; their data stays until a prune"}`,
  );
  print(false, null, lines.join("\n"));
  if (values.prune && dryRun) print(false, null, "prune left out: a dry run removed no snapshot");
  const pruned = await pruneAfter();
  if (pruned) print(false, null, pruneLines(pruned));
  return exitCodes.ok;
}
