import { readFile } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";
import { openRepository, openStorage, type Repository } from "@e3/engine";
import { opened, UsageError } from "./exit.ts";

// What every command shares: where the repository is, its password, output, cancellation, exit codes.

export { exitCodes, opened, UsageError } from "./exit.ts";

export const commonOptions = {
  repo: { type: "string" },
  "password-file": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

export type Common = { repo?: string | undefined; "password-file"?: string | undefined; json: boolean };

export async function password(options: Common): Promise<string> {
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

export function location(options: Common): string {
  const repo = options.repo ?? process.env.E3_REPOSITORY;
  if (!repo) throw new UsageError("no repository: pass --repo R or set E3_REPOSITORY");
  return repo;
}

export async function open(options: Common): Promise<Repository> {
  const storage = openStorage(location(options));
  opened.push(storage);
  return openRepository(storage, await password(options));
}

export function print(json: boolean, document: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(document)}\n` : `${text}\n`);
}

/** Ctrl-C (or SIGTERM from a service manager) cancels cleanly the first time, exits at once the second. */
export function cancellation(): AbortSignal {
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

/**
 * For the commands that stream a lot through memory (backup, sync, prune, and the agent that runs them): megabytes of
 * short-lived garbage a second. V8 sizes its heap by the machine's memory and, under that load, grows the young
 * generation and lets the old one fill with promoted garbage before collecting. Keeping the young generation at its
 * initial size and collecting the old one sooner costs ~5 % CPU and lowers the peak RSS by a third (bench/sync.ts:
 * 320 -> ~190 MiB for 20 000 uploads). A backup, whose young generation is busy with file records, keeps its young
 * generation and only collects the old one sooner: its first backup of the 256 MiB bench:engine set peaked at
 * 334-354 MiB and then at 261-306 MiB for the same CPU, where both flags cost it 8 % more. The flags are read
 * whenever V8 resizes, so setting them at start applies.
 */
export function collectGarbageSooner(generations: "young and old" | "old only" = "young and old"): void {
  if (generations === "young and old") setFlagsFromString("--semi-space-growth-factor=1");
  setFlagsFromString(`--heap-growing-percent=${generations === "young and old" ? 15 : 30}`);
}
