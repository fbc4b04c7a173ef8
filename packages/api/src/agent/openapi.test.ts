import { describe, expect, it } from "vitest";
import { agentEndpoints } from "./contract.ts";
import { agentOpenApiDocument } from "./openapi.ts";

describe("agent OpenAPI document", () => {
  it("describes every endpoint with its request schema and the authentication headers", () => {
    const document = agentOpenApiDocument("1.0.0");
    expect(Object.keys(document.paths).sort()).toEqual(
      Object.keys(agentEndpoints)
        .map((name) => `/agent/${name}`)
        .sort(),
    );
    const updateRun = document.paths["/agent/update_run"] as {
      post: {
        requestBody: {
          content: { "application/json": { schema: { required: string[]; additionalProperties: boolean } } };
        };
        security: unknown;
      };
    };
    const schema = updateRun.post.requestBody.content["application/json"].schema;
    expect(schema.required).toContain("runId");
    expect(schema.additionalProperties).toBe(false);
    expect(updateRun.post.security).toEqual([{ agentId: [], agentToken: [] }]);
    expect(document.components.securitySchemes.agentToken).toMatchObject({ in: "header", name: "x-agent-token" });
  });
});
