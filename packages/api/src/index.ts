export * from "./agent/contract.ts";
export { AgentApiError } from "./agent/errors.ts";
export type { AgentApiDeps } from "./agent/handlers.ts";
export { handleAgentRequest } from "./agent/http.ts";
export { agentOpenApiDocument } from "./agent/openapi.ts";
export { ConfigError, readServerConfig, type ServerConfig } from "./config.ts";
export { type Keyring, keyringFromEnv, openSecret, rewrapSecret, SecretError, sealSecret } from "./secrets/envelope.ts";
export { getPortalStatus, type PortalStatus } from "./status.ts";
export { currentWorkerIdentity, latestWorkerHeartbeatAge, recordWorkerHeartbeat } from "./worker/heartbeat.ts";
