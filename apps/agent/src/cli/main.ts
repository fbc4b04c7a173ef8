import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import {
  backup,
  findSnapshot,
  initRepository,
  listSnapshots,
  openRepository,
  openStorage,
  prepareStorage,
  type Repository,
  RepositoryReader,
  restoreSnapshot,
  type StorageBackend,
  walkSnapshot,
} from "@e3/engine";
import { z } from "zod";
import { formatBytes, formatDuration, progressPrinter, table } from "./output.ts";

// e3-backup-agent: the engine's command line (architecture §8), the way operators and tests drive it. Exit codes
// follow restic: 0 success, 1 failure, 3 finished but some files could not be read. Errors go to stderr as one line
// that says what to do.

const exitCodes = { ok: 0, failed: 1, incomplete: 3 } as const;

class UsageError extends Error {}

const usage = `usage: e3-backup-agent <command> [options]

commands:
  init       --repo R
  backup     --repo R [--exclude GLOB]... [--include GLOB]... [--tag T]... [--host H] [--parent ID | --force]
             [--compression auto|off|max] [--pack-size MiB] [--json] PATH...
  snapshots  --repo R [--host H] [--tag T]... [--json]
  ls         --repo R SNAPSHOT [PATH] [--json]
  restore    --repo R SNAPSHOT --target DIR [--include PATH]... [--overwrite always|if-changed|never] [--json]

The repository comes from --repo or E3_REPOSITORY (a folder, or s3:http[s]://host[:port]/bucket[/prefix] with
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION); the password from --password-file or E3_PASSWORD.
SNAPSHOT is an id, a unique id prefix, or "latest".`;

const commonOptions = {
  repo: { type: "string" },
  "password-file": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Common = { repo?: string | undefined; "password-file"?: string | undefined; json: boolean };

async function password(options: Common): Promise<string> {
  if (options["password-file"]) {
    const text = await readFile(options["password-file"], "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read the password file ${options["password-file"]}: ${error.code ?? error.message}`);
    });
    // As restic: the first line, without its line ending.
    return text.split(/\r?\n/)[0] ?? "";
  }
  const fromEnvironment = process.env.E3_PASSWORD;
  if (fromEnvironment) return fromEnvironment;
  throw new UsageError("no repository password: set E3_PASSWORD or pass --password-file FILE");
}

function location(options: Common): string {
  const repo = options.repo ?? process.env.E3_REPOSITORY;
  if (!repo) throw new UsageError("no repository: pass --repo R or set E3_REPOSITORY");
  return repo;
}

/** Storages opened by the command, closed when it ends so no socket keeps the process alive. */
const opened: StorageBackend[] = [];

async function open(options: Common): Promise<Repository> {
  const storage = openStorage(location(options));
  opened.push(storage);
  return openRepository(storage, await password(options));
}

function print(json: boolean, document: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(document)}\n` : `${text}\n`);
}

/** Ctrl-C (or SIGTERM from a service manager) cancels cleanly the first time, exits at once the second. */
function cancellation(): AbortSignal {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\ne3-backup-agent: ${signal}: stopping, press Ctrl-C again to exit at once\n`);
    controller.abort(new Error(`cancelled by ${signal}`));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return controller.signal;
}

async function init(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: commonOptions, allowPositionals: false });
  const where = location(values);
  const storage = await prepareStorage(where);
  opened.push(storage);
  const repository = await initRepository(storage, await password(values));
  print(
    values.json,
    { message_type: "initialized", id: repository.config.id, repository: where },
    `created e3 repository ${repository.config.id.slice(0, 10)} at ${where}\n\n` +
      "Please note that knowledge of your password is required to access the repository.\n" +
      "Losing your password means that your data is irrecoverably lost.",
  );
  return exitCodes.ok;
}

/** restic's --pack-size: MiB, 4 to 128. */
const packSizeSchema = z.coerce
  .number({ error: "--pack-size must be a number of MiB" })
  .int("--pack-size must be a whole number of MiB")
  .min(4, "--pack-size must be at least 4 (MiB)")
  .max(128, "--pack-size must be at most 128 (MiB)");

const compressionSchema = z.enum(["auto", "off", "max"], { error: "--compression must be auto, off or max" });

async function backupCommand(args: string[]): Promise<number> {
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

async function snapshotsCommand(args: string[]): Promise<number> {
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

async function lsCommand(args: string[]): Promise<number> {
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

const overwriteSchema = z.enum(["always", "if-changed", "never"], {
  error: "--overwrite must be always, if-changed or never",
});

async function restoreCommand(args: string[]): Promise<number> {
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

const commands: Record<string, (args: string[]) => Promise<number>> = {
  init,
  backup: backupCommand,
  snapshots: snapshotsCommand,
  ls: lsCommand,
  restore: restoreCommand,
};

function describeError(error: unknown): string {
  if (error instanceof z.ZodError) return error.issues.map((issue) => issue.message).join("; ");
  if (error instanceof Error) return error.message;
  return String(error);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(`${usage}\n`);
    return name ? exitCodes.ok : exitCodes.failed;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`e3-backup-agent: unknown command ${JSON.stringify(name)}\n\n${usage}\n`);
    return exitCodes.failed;
  }
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`${usage}\n`);
    return exitCodes.ok;
  }
  try {
    return await command(args);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const usageProblem =
      error instanceof UsageError ||
      error instanceof z.ZodError ||
      (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
    const suffix = usageProblem
      ? `; see 'e3-backup-agent ${name} --help'`
      : typeof code === "string"
        ? ` [${code}]`
        : "";
    process.stderr.write(`e3-backup-agent ${name}: ${describeError(error)}${suffix}\n`);
    return exitCodes.failed;
  } finally {
    await Promise.all(opened.splice(0).map((storage) => storage.close().catch(() => {})));
  }
}

process.exitCode = await main(process.argv.slice(2));
