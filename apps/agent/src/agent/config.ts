import { mkdir, readFile } from "node:fs/promises";
import { dirname, posix, win32 } from "node:path";
import { z } from "zod";
import { linuxLocations } from "../platform/linux.ts";
import { windowsLocations } from "../platform/windows.ts";
import { writeFileAtomically } from "./atomic-file.ts";

// Where the agent keeps its identity and its state, read and validated once. agent.conf holds the server URL, the
// agent id and its token (a secret: mode 0600, written to a temporary file and renamed so a crash never leaves half
// a config). The state folder beside it holds each run's spool (seed: %PROGRAMDATA%\E3Backup\runs).
//
// Environment: E3_AGENT_CONFIG (the config file), E3_AGENT_STATE (the state folder), E3_AGENT_LOG (the log file),
// E3_AGENT_POLL_SECONDS (how often an idle agent asks for work; default 15). The defaults are the platform's
// (src/platform: /etc/e3backup, /var/lib/e3backup, /var/log/e3backup; %PROGRAMDATA%\E3Backup on Windows).

export const agentConfigSchema = z.strictObject({
  server: z.url({ protocol: /^https?$/, error: "server must be the portal's http(s) URL" }),
  agentId: z.uuid({ error: "agentId must be the uuid the portal gave at enrollment" }),
  agentToken: z.string().min(1, "agentToken is missing"),
  tenantId: z.uuid().optional(),
  enrolledAt: z.iso.datetime({ offset: true }).optional(),
  /** Lets jobs run their pre/post commands on this machine; set here by the machine's admin, never by the portal. */
  allowJobCommands: z.boolean().optional(),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

const environmentSchema = z.object({
  E3_AGENT_CONFIG: z.string().min(1).optional(),
  E3_AGENT_STATE: z.string().min(1).optional(),
  E3_AGENT_LOG: z.string().min(1).optional(),
  E3_AGENT_POLL_SECONDS: z.coerce
    .number({ error: "E3_AGENT_POLL_SECONDS must be a number of seconds" })
    .positive("E3_AGENT_POLL_SECONDS must be positive")
    .max(3600, "E3_AGENT_POLL_SECONDS must be at most 3600")
    .default(15),
});

export type AgentPaths = { configFile: string; stateDir: string; logFile: string; pollSeconds: number };

/** The config file, state folder and log file for this platform, unless the environment moves them. */
export function agentPaths(env: NodeJS.ProcessEnv = process.env, platform = process.platform): AgentPaths {
  const parsed = environmentSchema.parse(env);
  const path = platform === "win32" ? win32 : posix;
  const defaults = platform === "win32" ? windowsLocations(env) : linuxLocations();
  const configFile = parsed.E3_AGENT_CONFIG ?? defaults.configFile;
  // A config moved elsewhere takes its state (and the log within it) along, so one folder holds a whole agent.
  const stateDir =
    parsed.E3_AGENT_STATE ??
    (parsed.E3_AGENT_CONFIG ? path.join(path.dirname(parsed.E3_AGENT_CONFIG), "state") : defaults.stateDir);
  const logFile =
    parsed.E3_AGENT_LOG ??
    (parsed.E3_AGENT_CONFIG || parsed.E3_AGENT_STATE ? path.join(stateDir, "logs", "agent.log") : defaults.logFile);
  return { configFile, stateDir, logFile, pollSeconds: parsed.E3_AGENT_POLL_SECONDS };
}

export class AgentConfigError extends Error {
  readonly code = "AGENT_NOT_ENROLLED";
}

export async function readAgentConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new AgentConfigError(
        `${file} does not exist: enroll this machine first with 'e3-backup-agent enroll --server URL --token T'`,
      );
    }
    throw new AgentConfigError(
      `cannot read ${file} (${code ?? String(error)}); run the agent as the account that enrolled it`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AgentConfigError(`${file} is not valid JSON; enroll again to rewrite it`);
  }
  const parsed = agentConfigSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => issue.message).join("; ");
    throw new AgentConfigError(`${file} is not a valid agent config (${problems}); enroll again to rewrite it`);
  }
  return parsed.data;
}

/** Replaces the config atomically, readable by its owner only (it holds the agent's token). */
export async function writeAgentConfig(file: string, config: AgentConfig): Promise<void> {
  const valid = agentConfigSchema.parse(config);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomically(file, `${JSON.stringify(valid, null, 2)}\n`);
}
