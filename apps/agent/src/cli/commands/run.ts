import { parseArgs } from "node:util";
import { agentPaths, readAgentConfig } from "../../agent/config.ts";
import { RotatingLog } from "../../agent/log-file.ts";
import { runAgentLoop } from "../../agent/loop.ts";
import { agentVersion } from "../../agent/version.ts";
import { platformFor } from "../../platform/index.ts";
import { cancellation, exitCodes } from "../context.ts";

export async function runCommand(args: string[]): Promise<number> {
  parseArgs({ args, allowPositionals: false, options: { help: { type: "boolean", short: "h", default: false } } });
  const { configFile, stateDir, logFile, pollSeconds } = agentPaths();
  // Every line goes to the console (the journal, under systemd) and to the rotating log file.
  const log = new RotatingLog(logFile, { onError: (message) => process.stderr.write(`e3-backup-agent: ${message}\n`) });
  const say = (line: string) => {
    const stamped = `${new Date().toISOString()} ${line}\n`;
    process.stdout.write(stamped);
    log.write(stamped);
  };
  const config = await readAgentConfig(configFile);
  // Shadow copies a killed agent left behind would otherwise hold disk space until Windows drops them.
  await platformFor()
    .releaseLeftoverSnapshots(stateDir)
    .catch((error: unknown) => say(`could not release leftover shadow copies: ${String(error)}`));
  await runAgentLoop({ config, stateDir, pollSeconds, version: agentVersion, signal: cancellation(), say });
  return exitCodes.ok;
}
