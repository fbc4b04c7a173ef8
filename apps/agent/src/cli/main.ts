import type { ZodError } from "zod";
import { exitCodes, opened, UsageError } from "./exit.ts";
import { fixMallocThreshold } from "./malloc.ts";

// e3-backup-agent: the engine's command line (architecture §8), the way operators and tests drive it. Exit codes
// follow restic: 0 success, 1 failure, 3 finished but some files could not be read. Errors go to stderr as one line
// that says what to do. Each command lives in commands/<name>.ts and is registered in the table below, loaded only when
// it runs: `--help` and a command that needs neither the portal client nor the AWS SDK do not pay for loading them.

const usage = `usage: e3-backup-agent <command> [options]

commands:
  init       --repo R
  backup     --repo R [--exclude GLOB]... [--include GLOB]... [--tag T]... [--host H] [--parent ID | --force]
             [--compression auto|off|max] [--pack-size MiB] [--read-concurrency N] [--limit-upload KiB/s] [--exclude-caches]
             [--exclude-larger-than SIZE] [--one-file-system] [--fail-on-unreadable] [--json] PATH...
  snapshots  --repo R [--host H] [--tag T]... [--json]
  ls         --repo R SNAPSHOT [PATH] [--json]
  restore    --repo R SNAPSHOT --target DIR [--include PATH]... [--overwrite always|if-changed|never] [--json]
  enroll     --server URL --token T [--name N] [--json]
  run        (the agent in the foreground: polls the portal, runs backups and restores)
  service    install [--account USER] | uninstall | status [--json]   (systemd unit or Windows service)
  status-page [--open]   (the running agent's local status page address, with its token)
  tray       (Windows: the tray icon that opens the status page; service install starts it at every logon)
  sync       SRC DEST [--mode copy|sync] [--include G]... [--exclude G]... [--bwlimit RATE] [--transfers N] [--dry-run] [--json]
  forget     --repo R [--keep-last|-hourly|-daily|-weekly|-monthly|-yearly N]... [--keep-within[-hourly|…] 1y2m3d4h]
             [--keep-tag T[,T]]... [--host H] [--dry-run] [--force] [--json]
             [--prune [--max-unused P%] [--max-repack-size SIZE] [--repack-uncompressed]]
  prune      --repo R [--max-unused P%|unlimited] [--max-repack-size SIZE] [--repack-uncompressed] [--pack-size MiB]
             [--dry-run] [--json]
  check      --repo R [--read-data | --read-data-subset n/t|x%] [--json]   (exit 1 naming the damage)
  repair     --repo R index [--json]
  key        --repo R list|add|remove ID|passwd [--new-password-file F | E3_NEW_PASSWORD] [--user U] [--host H] [--json]
  mount      --repo R [--snapshot ID|latest] [--port N] [--idle-timeout 30m|0] [--verbose] [--json]
             (read-only WebDAV on 127.0.0.1 with a random password; all snapshots as /snapshots/<time>/ by default)

The repository comes from --repo or E3_REPOSITORY (a folder, or s3:http[s]://host[:port]/bucket[/prefix] with
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION); the password from --password-file or E3_PASSWORD.
SNAPSHOT is an id, a unique id prefix, or "latest".`;

const commands: Record<string, (args: string[]) => Promise<number>> = {
  init: (args) => import("./commands/init.ts").then((module) => module.initCommand(args)),
  backup: (args) => import("./commands/backup.ts").then((module) => module.backupCommand(args)),
  snapshots: (args) => import("./commands/snapshots.ts").then((module) => module.snapshotsCommand(args)),
  ls: (args) => import("./commands/ls.ts").then((module) => module.lsCommand(args)),
  restore: (args) => import("./commands/restore.ts").then((module) => module.restoreCommand(args)),
  enroll: (args) => import("./commands/enroll.ts").then((module) => module.enrollCommand(args)),
  run: (args) => import("./commands/run.ts").then((module) => module.runCommand(args)),
  service: (args) => import("./commands/service.ts").then((module) => module.serviceCommand(args)),
  "status-page": (args) => import("./commands/status-page.ts").then((module) => module.statusPageCommand(args)),
  tray: (args) => import("./commands/tray.ts").then((module) => module.trayCommand(args)),
  forget: (args) => import("./commands/forget.ts").then((module) => module.forgetCommand(args)),
  key: (args) => import("./commands/key.ts").then((module) => module.keyCommand(args)),
  prune: (args) => import("./commands/prune.ts").then((module) => module.pruneCommand(args)),
  check: (args) => import("./commands/check.ts").then((module) => module.checkCommand(args)),
  repair: (args) => import("./commands/repair.ts").then((module) => module.repairCommand(args)),
  sync: (args) => import("./commands/sync.ts").then((module) => module.syncCommand(args)),
  mount: (args) => import("./commands/mount.ts").then((module) => module.mountCommand(args)),
};

function describeError(error: unknown, zodError: typeof ZodError): string {
  if (error instanceof zodError) return error.issues.map((issue) => issue.message).join("; ");
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
    // zod only now: the command that threw has loaded it already (or did not need it).
    const { ZodError } = await import("zod");
    const code = (error as { code?: unknown }).code;
    const usageProblem =
      error instanceof UsageError ||
      error instanceof ZodError ||
      (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
    const suffix = usageProblem
      ? `; see 'e3-backup-agent ${name} --help'`
      : typeof code === "string"
        ? ` [${code}]`
        : "";
    process.stderr.write(`e3-backup-agent ${name}: ${describeError(error, ZodError)}${suffix}\n`);
    return exitCodes.failed;
  } finally {
    await Promise.all(opened.splice(0).map((storage) => storage.close().catch(() => {})));
  }
}

fixMallocThreshold(process.argv[2]);
// Not a top-level await: the single-file build is a CommonJS script (what Node's single executable applications run).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
