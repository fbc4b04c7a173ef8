import type { Agent } from "@e3/db";
import type { z } from "zod";
import { log } from "../log.ts";
import { observeApiRequest } from "../metrics.ts";
import { type AgentEndpoint, agentEndpoints, agentHeaders } from "./contract.ts";
import { AgentApiError } from "./errors.ts";
import {
  type AgentApiDeps,
  authenticateAgent,
  completeCommand,
  enroll,
  listJobs,
  nextRun,
  pollCommands,
  pollPendingCommands,
  pushEvents,
  pushLogs,
  requestRun,
  touchAgentLastSeen,
  updateRun,
} from "./handlers.ts";

// The agent REST adapter over the Fetch API's Request/Response, so it mounts in a Next.js route handler and runs in
// tests without a server. It owns the HTTP rules: POST only, JSON only, 1 MiB bodies, zod validation with messages
// that name the field, 401/403 for authentication, and one error shape for everything.

const maxBodyBytes = 1024 * 1024;

type Input<E extends AgentEndpoint> = z.infer<(typeof agentEndpoints)[E]["request"]>;
type Handler<E extends AgentEndpoint> = (deps: AgentApiDeps, agent: Agent, input: Input<E>) => Promise<unknown>;

const authenticatedHandlers: { [E in Exclude<AgentEndpoint, "enroll">]: Handler<E> } = {
  next_run: (deps, agent, input) => nextRun(deps, agent, input.hostname),
  update_run: updateRun,
  push_events: pushEvents,
  push_logs: pushLogs,
  poll_commands: (deps, agent, input) => pollCommands(deps, agent, input.runId),
  poll_pending_commands: (deps, agent, input) => pollPendingCommands(deps, agent, input.types),
  complete_command: completeCommand,
  list_jobs: (deps, agent) => listJobs(deps, agent),
  request_run: (deps, agent, input) => requestRun(deps, agent, input.jobId),
};

function errorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return Response.json({ error: { code, message } }, { status, headers: { "cache-control": "no-store", ...headers } });
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

async function readJsonBody(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new AgentApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as JSON with Content-Type: application/json");
  }
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > maxBodyBytes) throw tooLarge();
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBodyBytes) throw tooLarge();
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AgentApiError(400, "INVALID_JSON", "the request body is not valid JSON");
  }
}

function tooLarge() {
  return new AgentApiError(
    413,
    "BODY_TOO_LARGE",
    `request bodies are limited to ${maxBodyBytes} bytes; send smaller batches`,
  );
}

function clientIpOf(request: Request): string | null {
  return request.headers.get("x-forwarded-for")?.split(",")[0]?.trim() || request.headers.get("x-real-ip") || null;
}

/** Handles `POST /agent/<endpoint>`; `endpoint` is the last path segment. */
export async function handleAgentRequest(request: Request, endpoint: string, deps: AgentApiDeps): Promise<Response> {
  const started = performance.now();
  const response = await answerAgentRequest(request, endpoint, deps);
  const label = Object.hasOwn(agentEndpoints, endpoint) ? endpoint : "unknown";
  observeApiRequest("agent", label, response.status, (performance.now() - started) / 1000);
  return response;
}

async function answerAgentRequest(request: Request, endpoint: string, deps: AgentApiDeps): Promise<Response> {
  try {
    if (!Object.hasOwn(agentEndpoints, endpoint)) {
      return errorResponse(404, "UNKNOWN_ENDPOINT", `no agent endpoint named "${endpoint}"`);
    }
    if (request.method !== "POST") {
      return errorResponse(405, "METHOD_NOT_ALLOWED", "agent endpoints accept POST only", { allow: "POST" });
    }
    const name = endpoint as AgentEndpoint;
    const definition = agentEndpoints[name];
    const agent = definition.authenticated
      ? await authenticateAgent(deps, request.headers.get(agentHeaders.id), request.headers.get(agentHeaders.token))
      : null;
    const parsed = definition.request.safeParse(await readJsonBody(request));
    if (!parsed.success) return errorResponse(400, "INVALID_REQUEST", describeIssues(parsed.error));
    if (agent) await touchAgentLastSeen(deps, agent, clientIpOf(request));

    let result: unknown;
    if (name === "enroll") {
      result = await enroll(deps, parsed.data as Input<"enroll">);
    } else {
      const handler = authenticatedHandlers[name] as Handler<typeof name>;
      result = await handler(deps, agent as Agent, parsed.data as Input<typeof name>);
    }
    return Response.json(result, { headers: { "cache-control": "no-store" } });
  } catch (error) {
    if (error instanceof AgentApiError) return errorResponse(error.status, error.code, error.message);
    log.error({ err: error, endpoint }, "agent API request failed");
    return errorResponse(500, "INTERNAL", "the server failed to handle the request; it was not applied, retry later");
  }
}
