import { parseArgs } from "node:util";
import { agentPaths, readAgentConfig } from "../../agent/config.ts";
import { runAgentLoop } from "../../agent/loop.ts";
import { agentVersion } from "../../agent/version.ts";
import { cancellation, exitCodes } from "../context.ts";

export async function runCommand(args: string[]): Promise<number> {
  parseArgs({ args, allowPositionals: false, options: { help: { type: "boolean", short: "h", default: false } } });
  const { configFile, stateDir, pollSeconds } = agentPaths();
  const config = await readAgentConfig(configFile);
  await runAgentLoop({
    config,
    stateDir,
    pollSeconds,
    version: agentVersion,
    signal: cancellation(),
    say: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
  });
  return exitCodes.ok;
}
