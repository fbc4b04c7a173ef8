/** An error the agent REST adapter turns into an HTTP status and `{ error: { code, message } }`. */
export class AgentApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "AgentApiError";
    this.status = status;
    this.code = code;
  }
}

export const unauthenticated = () =>
  new AgentApiError(401, "AGENT_UNAUTHENTICATED", "unknown agent or wrong token; re-enroll the agent");

export const runNotFound = (runId: string) =>
  new AgentApiError(404, "RUN_NOT_FOUND", `run ${runId} does not exist or belongs to another agent`);

export const commandNotFound = (commandId: string) =>
  new AgentApiError(404, "COMMAND_NOT_FOUND", `command ${commandId} does not exist or belongs to another agent`);
