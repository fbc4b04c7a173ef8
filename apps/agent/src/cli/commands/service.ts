import { parseArgs } from "node:util";
import { agentPaths } from "../../agent/config.ts";
import { platformFor } from "../../platform/index.ts";
import { exitCodes, print, UsageError } from "../context.ts";

// e3-backup-agent service install|uninstall|status: the agent as a systemd unit (Linux) or a Windows service, run
// by the service manager as `e3-backup-agent run` with the config, state and log locations of agentPaths().

export async function serviceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      account: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [action, ...rest] = positionals;
  if (rest.length > 0 || !action || !["install", "uninstall", "status"].includes(action)) {
    throw new UsageError("service needs one of install, uninstall or status");
  }
  const platform = platformFor();
  const { configFile, stateDir, logFile } = agentPaths();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (action === "install") {
    await platform.installService({ account: values.account, locations: { configFile, stateDir, logFile } }, say);
  } else if (action === "uninstall") {
    await platform.uninstallService(say);
  } else {
    const state = await platform.serviceStatus();
    print(values.json, state, `e3-backup-agent service: ${state.detail}`);
    return state.installed ? exitCodes.ok : 3;
  }
  return exitCodes.ok;
}
