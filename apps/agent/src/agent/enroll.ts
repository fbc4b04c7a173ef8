import { arch, hostname, platform } from "node:os";
import { AgentApiError, AgentClient } from "./client.ts";
import { type AgentConfig, writeAgentConfig } from "./config.ts";

// Enrollment: a one-time token from the portal (Agents → Enroll) becomes this machine's agent id and token, written
// to agent.conf. Enrolling again replaces the identity; the old agent stays in the portal until someone revokes it.

export async function enrollAgent(options: {
  server: string;
  token: string;
  configFile: string;
  name?: string | undefined;
  version: string;
}): Promise<AgentConfig> {
  const server = options.server.replace(/\/+$/, "");
  const client = new AgentClient(server, null);
  const enrolled = await client
    .call("enroll", {
      token: options.token,
      hostname: hostname().slice(0, 255) || "unknown",
      ...(options.name ? { name: options.name } : {}),
      os: platform(),
      arch: arch(),
      version: options.version,
    })
    .catch((error: unknown) => {
      if (error instanceof AgentApiError && error.code === "ENROLLMENT_TOKEN_INVALID") {
        throw new AgentApiError(
          error.status,
          error.code,
          "the enrollment token is unknown, already used or expired; create a new one in the portal (Agents → Enroll)",
        );
      }
      throw error;
    });
  const config: AgentConfig = {
    server,
    agentId: enrolled.agentId,
    agentToken: enrolled.agentToken,
    tenantId: enrolled.tenantId,
    enrolledAt: new Date().toISOString(),
  };
  await writeAgentConfig(options.configFile, config);
  return config;
}
