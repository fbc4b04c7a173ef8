import { z } from "zod";
import { agentEndpoints, agentErrorResponseSchema, agentHeaders } from "./contract.ts";

/** The OpenAPI 3.1 document of the agent REST adapter, generated from the same zod schemas that validate requests. */
export function agentOpenApiDocument(version: string) {
  const errorResponse = (description: string) => ({
    description,
    content: { "application/json": { schema: z.toJSONSchema(agentErrorResponseSchema) } },
  });
  const paths = Object.fromEntries(
    Object.entries(agentEndpoints).map(([name, endpoint]) => [
      `/agent/${name}`,
      {
        post: {
          operationId: name,
          ...(endpoint.authenticated ? { security: [{ agentId: [], agentToken: [] }] } : {}),
          requestBody: {
            required: true,
            content: { "application/json": { schema: z.toJSONSchema(endpoint.request, { io: "input" }) } },
          },
          responses: {
            "200": {
              description: "OK",
              content: { "application/json": { schema: z.toJSONSchema(endpoint.response) } },
            },
            "400": errorResponse("the body is not valid; the message names the field"),
            "401": errorResponse("unknown agent, wrong token, or an invalid enrollment token"),
            "403": errorResponse("the agent was revoked"),
            "404": errorResponse("the run or command does not exist or belongs to another agent"),
            "409": errorResponse("the run or command already ended"),
            "413": errorResponse("the body is larger than 1 MiB"),
            "415": errorResponse("the body is not JSON"),
          },
        },
      },
    ]),
  );
  return {
    openapi: "3.1.0",
    info: { title: "e3 agent API", version },
    paths,
    components: {
      securitySchemes: {
        agentId: { type: "apiKey", in: "header", name: agentHeaders.id },
        agentToken: { type: "apiKey", in: "header", name: agentHeaders.token },
      },
    },
  };
}
