import { type AgentApiDeps, keyringFromEnv, readServerConfig } from "@e3/api";
import { getDatabase } from "./db.ts";

// Configuration is read and validated once per server process; a bad variable fails the first request loudly.
let agentDeps: AgentApiDeps | undefined;

export function getAgentApiDeps(): AgentApiDeps {
  agentDeps ??= { db: getDatabase(), keyring: keyringFromEnv(process.env), config: readServerConfig() };
  return agentDeps;
}
