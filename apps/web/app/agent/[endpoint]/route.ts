import { agentOpenApiDocument, handleAgentRequest } from "@e3/api";
import { getServerContext } from "../../../lib/server-context.ts";
import { e3Version } from "../../../lib/version.ts";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ endpoint: string }> };

/** The agent REST adapter: POST /agent/<endpoint> (see packages/api/src/agent). */
export async function POST(request: Request, context: Context) {
  const { endpoint } = await context.params;
  return handleAgentRequest(request, endpoint, getServerContext());
}

/** GET /agent/openapi.json serves the adapter's OpenAPI document; other GETs are refused by the adapter. */
export async function GET(request: Request, context: Context) {
  const { endpoint } = await context.params;
  if (endpoint === "openapi.json") return Response.json(agentOpenApiDocument(e3Version));
  return handleAgentRequest(request, endpoint, getServerContext());
}
