import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { AgentClient } from "../../agent/client.ts";
import { type AgentConfig, agentPaths, readAgentConfig } from "../../agent/config.ts";
import { enrollAgent } from "../../agent/enroll.ts";
import { RotatingLog } from "../../agent/log-file.ts";
import { runAgentLoop } from "../../agent/loop.ts";
import { sleep } from "../../agent/run-reporter.ts";
import { agentVersion } from "../../agent/version.ts";
import { platformFor } from "../../platform/index.ts";
import { AgentStatus } from "../../status-page/agent-status.ts";
import { type StatusPage, startStatusPage } from "../../status-page/server.ts";
import { cancellation, collectGarbageSooner, exitCodes } from "../context.ts";

// The agent in the foreground (what the service manager starts): the poll loop plus the local status page. A machine
// that is not enrolled yet waits, its status page offering the enrollment form, until it is (there or with
// `e3-backup-agent enroll`). E3_AGENT_STATUS_PAGE=off runs without the page.

export async function runCommand(args: string[]): Promise<number> {
  parseArgs({ args, allowPositionals: false, options: { help: { type: "boolean", short: "h", default: false } } });
  // The agent runs backups, syncs and prunes in this process.
  collectGarbageSooner();
  const { configFile, stateDir, logFile, pollSeconds } = agentPaths();
  // Every line goes to the console (the journal, under systemd) and to the rotating log file.
  const log = new RotatingLog(logFile, { onError: (message) => process.stderr.write(`e3-backup-agent: ${message}\n`) });
  const say = (line: string) => {
    const stamped = `${new Date().toISOString()} ${line}\n`;
    process.stdout.write(stamped);
    log.write(stamped);
  };
  const signal = cancellation();
  const platform = platformFor();
  const status = new AgentStatus(agentVersion, hostname());
  let config: AgentConfig | null = existsSync(configFile) ? await readAgentConfig(configFile) : null;
  const clientOf = (c: AgentConfig) => new AgentClient(c.server, { agentId: c.agentId, agentToken: c.agentToken });
  let client = config ? clientOf(config) : null;
  const enrolled = (c: AgentConfig) => {
    config = c;
    client = clientOf(c);
    status.enrolled({ agentId: c.agentId, server: c.server });
  };
  if (config) enrolled(config);

  let page: StatusPage | null = null;
  if (process.env.E3_AGENT_STATUS_PAGE !== "off") {
    page = await startStatusPage({
      status,
      stateDir,
      platform,
      client: () => client,
      enroll: async (input) => {
        enrolled(await enrollAgent({ ...input, configFile, version: agentVersion }));
        say(`enrolled as agent ${config?.agentId} from the status page`);
      },
    }).catch((error: unknown) => {
      say(`the status page could not start: ${String(error)}`);
      return null;
    });
    if (page) say(`status page: ${page.url.replace(/\?token=.*/, "")} (address with its token in ${stateDir})`);
  }
  try {
    // Shadow copies a killed agent left behind would otherwise hold disk space until Windows drops them.
    await platform
      .releaseLeftoverSnapshots(stateDir)
      .catch((error: unknown) => say(`could not release leftover shadow copies: ${String(error)}`));
    if (!config) {
      say(`not enrolled yet: enroll on the status page or with 'e3-backup-agent enroll --server URL --token T'`);
      while (!config && !signal.aborted) {
        await sleep(2000, signal);
        if (!config && existsSync(configFile)) enrolled(await readAgentConfig(configFile));
      }
    }
    if (config) await runAgentLoop({ config, stateDir, pollSeconds, version: agentVersion, signal, say, status });
  } finally {
    await page?.close();
  }
  return exitCodes.ok;
}
