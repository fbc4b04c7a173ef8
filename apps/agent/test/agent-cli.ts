import { type ChildProcess, spawn } from "node:child_process";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Runs the CLI as a separate process: the bin's launcher under this Node, so the process killed is the agent itself
// (and this process reaps it at once). The link the README's setup makes in node_modules/.bin runs the same launcher.
// With E3_AGENT_EXECUTABLE set (e.g. to dist/agent/e3-backup-agent-linux-x64 after `pnpm build:agent`) the suites
// that spawn the agent through agentCommand() run that executable instead.

export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const linkedBin = join(repositoryRoot, "node_modules", ".bin", "e3-backup-agent");
const launcher = join(repositoryRoot, "apps", "agent", "bin", "e3-backup-agent.mjs");

/** How to start the agent: the built executable when E3_AGENT_EXECUTABLE names one, else the launcher. */
export function agentCommand(executable = process.env.E3_AGENT_EXECUTABLE): { file: string; args: string[] } {
  return executable ? { file: executable, args: [] } : { file: process.execPath, args: [launcher] };
}

/** `e3-backup-agent run` (the service) in the background; its stdout and stderr are collected together. */
export function startAgentService(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const command = agentCommand();
  const child = spawn(command.file, [...command.args, "run"], { env: { ...process.env, ...env } });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  return { child, output: () => output };
}

export type AgentRun = { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

export function runAgent(
  args: string[],
  env: Record<string, string | undefined>,
  options: { killAfterMs?: number; killWhen?: Promise<unknown>; uid?: number; gid?: number; executable?: string } = {},
): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const command = agentCommand(options.executable);
    const child = spawn(command.file, [...command.args, ...args], {
      env: { ...process.env, ...env },
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer =
      options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.killAfterMs);
    void options.killWhen?.then(() => child.kill("SIGKILL"));
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** The JSON lines of a --json run. */
export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The uid tests run the CLI as when permissions must apply (the tests themselves may run as root). */
export const nobody = 65534;

/**
 * A folder with one readable and one unreadable file (for `nobody`), and an initialised repository `nobody` owns:
 * the environment to run the CLI with as `{ uid: nobody }`.
 */
export async function unreadableFixture(
  dir: string,
  name: string,
): Promise<{ source: string; env: Record<string, string> }> {
  const source = join(dir, name);
  await mkdir(source);
  await writeFile(join(source, "readable.txt"), "fine\n");
  await writeFile(join(source, "secret.txt"), "no access\n");
  await chmod(join(source, "secret.txt"), 0o000);
  const repo = join(dir, `${name}-repo`);
  await mkdir(repo);
  await chown(repo, nobody, nobody);
  const env = { E3_REPOSITORY: repo, E3_PASSWORD: "pw", HOME: dir };
  const init = await runAgent(["init"], env, { uid: nobody });
  if (init.status !== 0) throw new Error(`init as nobody failed: ${init.stderr}`);
  return { source, env };
}
