export { ConfigError, readServerConfig, type ServerConfig } from "./config.ts";
export { getPortalStatus, type PortalStatus } from "./status.ts";
export { currentWorkerIdentity, latestWorkerHeartbeatAge, recordWorkerHeartbeat } from "./worker/heartbeat.ts";
