import { type AgentEndpoint, agentEndpoints, agentErrorResponseSchema, agentHeaders } from "@e3/api/agent-contract";
import type { z } from "zod";

// The portal's /agent/* adapter, typed by the shared contract: every request is checked against its schema before
// it leaves (a bug here fails loudly, not as a 400 later) and every answer is validated before it is used.

type Request<E extends AgentEndpoint> = z.input<(typeof agentEndpoints)[E]["request"]>;
type Response<E extends AgentEndpoint> = z.output<(typeof agentEndpoints)[E]["response"]>;

export type Credentials = { agentId: string; agentToken: string };

/** The server answered with an error: `status` and `code` from its error body. */
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

/** The server could not be reached or failed (network error, timeout, 5xx): worth trying again later. */
export class ServerUnavailableError extends Error {
  readonly code = "SERVER_UNAVAILABLE";
}

export function isServerUnavailable(error: unknown): boolean {
  return error instanceof ServerUnavailableError;
}

const requestTimeoutMs = 30_000;

export class AgentClient {
  readonly #server: string;
  readonly #credentials: Credentials | null;

  constructor(server: string, credentials: Credentials | null) {
    this.#server = server.replace(/\/+$/, "");
    this.#credentials = credentials;
  }

  async call<E extends AgentEndpoint>(endpoint: E, body: Request<E>, signal?: AbortSignal): Promise<Response<E>> {
    const definition = agentEndpoints[endpoint];
    const payload = definition.request.parse(body);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (definition.authenticated) {
      if (!this.#credentials) throw new Error(`${endpoint} needs the agent's credentials`);
      headers[agentHeaders.id] = this.#credentials.agentId;
      headers[agentHeaders.token] = this.#credentials.agentToken;
    }
    const url = `${this.#server}/agent/${endpoint}`;
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    let response: globalThis.Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(payload),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new ServerUnavailableError(
        `cannot reach the portal at ${this.#server} (${cause}); check the address and that the portal is running`,
        { cause: error },
      );
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      const parsed = agentErrorResponseSchema.safeParse(safeJson(text));
      const code = parsed.success ? parsed.data.error.code : `HTTP_${response.status}`;
      const message = parsed.success ? parsed.data.error.message : text.slice(0, 200) || response.statusText;
      if (response.status >= 500 || response.status === 429) {
        throw new ServerUnavailableError(`the portal answered ${response.status} to ${endpoint}: ${message}`);
      }
      throw new AgentApiError(response.status, code, `${endpoint}: ${message}`);
    }
    const answer = definition.response.safeParse(safeJson(text));
    if (!answer.success) {
      throw new AgentApiError(
        response.status,
        "INVALID_RESPONSE",
        `${endpoint}: the portal's answer does not follow the agent contract (${answer.error.issues[0]?.message}); is ${this.#server} an e3 portal of a matching version?`,
      );
    }
    return answer.data as Response<E>;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
