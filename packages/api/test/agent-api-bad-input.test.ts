import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentEndpoint, agentEndpoints } from "../src/agent/contract.ts";
import { handleAgentRequest } from "../src/agent/http.ts";
import { createHarness, createJob, createTenant, enrollAgent, type Harness, queueRun } from "./fixtures.ts";

// Malformed requests of every kind at every /agent/* endpoint: never a 5xx; a refused request (4xx) carries a message
// and leaves the database byte-for-byte as it was.

let harness: Harness;
let credentials: { agentId: string; agentToken: string };
let validBodies: Record<AgentEndpoint, Record<string, unknown>>;

beforeAll(async () => {
  harness = await createHarness("badinput");
  const tenant = await createTenant(harness.db);
  const agent = await enrollAgent(harness.deps, tenant.id);
  credentials = { agentId: agent.agentId, agentToken: agent.agentToken };
  const job = await createJob(harness, tenant.id, agent.agentId);
  const run = await queueRun(harness.db, job);
  await harness.db.run.update({ where: { id: run.id }, data: { status: "running" } });
  const now = new Date().toISOString();
  validBodies = {
    enroll: { token: "e3enr_x", hostname: "h" },
    next_run: { hostname: "h" },
    update_run: { runId: run.id, status: "running", progress: { phase: "uploading", filesDone: 1 } },
    push_events: { runId: run.id, events: [{ seq: 1, ts: now, type: "BACKUP_PROGRESS", data: { a: 1 } }] },
    push_logs: { runId: run.id, logs: [{ seq: 1, ts: now, level: "info", message: "m" }] },
    poll_commands: { runId: run.id },
    poll_pending_commands: {},
    complete_command: { commandId: run.id, status: "completed" },
    list_jobs: {},
    request_run: { jobId: job.id },
  };
});
afterAll(() => harness.close());

/** A digest of every row of every table: equal digests mean nothing was written. */
async function databaseDigest(): Promise<string> {
  const tables = await harness.db.$queryRaw<{ tablename: string }[]>`
    SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
  const digests: string[] = [];
  for (const { tablename } of tables) {
    const [row] = await harness.db.$queryRawUnsafe<{ digest: string | null }[]>(
      `SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest FROM "${tablename}" t`,
    );
    digests.push(`${tablename}:${row?.digest ?? "empty"}`);
  }
  return digests.join("\n");
}

const endpoints = Object.keys(agentEndpoints) as AgentEndpoint[];
const hugeString = fc.string({ minLength: 0, maxLength: 50 }).map((s) => s + "x".repeat(20_000));
const weirdValue = fc.oneof(
  fc.anything(),
  hugeString,
  fc.constant(null),
  fc.constant(-1),
  fc.constant(2 ** 53),
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }).map((text) => `${text}\u0000${text}`) },
  fc.constant("not-a-uuid"),
  fc.constant("2026-13-45T99:99:99Z"),
  fc.array(fc.anything(), { maxLength: 3 }),
);

type Json = unknown;

/** Every path into a JSON value: [] for the value itself, then each key or index, recursively. */
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const paths = [prefix];
  if (value && typeof value === "object") {
    // Object.entries covers arrays too, with their indexes as keys.
    for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...prefix, key]));
  }
  return paths;
}

function withValueAt(value: Json, path: (string | number)[], replacement: Json | typeof removeMarker): Json {
  if (path.length === 0) return replacement === removeMarker ? undefined : replacement;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, Json>;
  const next = withValueAt(copy[head], rest, replacement);
  if (next === undefined && rest.length === 0) delete copy[head];
  else copy[head] = next;
  return copy;
}
const removeMarker = Symbol("remove");

/**
 * A body near a valid one: one value anywhere in it (nested ones included) replaced by something odd, one field
 * removed, an unknown field added, or noise. Most are invalid; the few that stay valid must simply succeed.
 */
function mutatedBody(endpoint: AgentEndpoint) {
  const valid = validBodies[endpoint];
  const paths = pathsOf(valid);
  const fieldPaths = paths.filter((path) => path.length > 0);
  const replaced = fc
    .record({ path: fc.constantFrom(...paths), value: weirdValue })
    .map(({ path, value }) => withValueAt(valid, path, value));
  const added = fc
    .constantFrom(...paths.filter((path) => path.length === 0 || typeof valid === "object"))
    .map((path) => withValueAt(valid, [...path.slice(0, -1), "surprise"], true));
  const removed =
    fieldPaths.length > 0 ? [fc.constantFrom(...fieldPaths).map((path) => withValueAt(valid, path, removeMarker))] : [];
  return fc.oneof(replaced, added, ...removed, fc.anything());
}

/** Bodies that are not JSON at all (an empty body counts as `{}`, so it is left out). */
const rawText = fc.oneof(fc.string(), fc.constant("{"), fc.constant("[1,2"), fc.constant("\u0000")).filter((text) => {
  if (text.trim() === "") return false;
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
});

function request(endpoint: string, body: string, headers: Record<string, string>) {
  return new Request(`http://portal.test/agent/${endpoint}`, { method: "POST", headers, body });
}

describe("agent API under malformed input", () => {
  it("answers every malformed body, header and payload with a 4xx that changes nothing, and never a 5xx", async () => {
    const headerVariants = fc.constantFrom("valid", "valid", "valid", "missing", "wrong-token", "garbage-id");
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...endpoints)
          .chain((endpoint) =>
            fc.tuple(
              fc.constant(endpoint),
              headerVariants,
              fc.oneof(
                { weight: 4, arbitrary: mutatedBody(endpoint).map((body) => JSON.stringify(body) ?? "null") },
                rawText,
              ),
            ),
          ),
        fc.context(),
        async ([endpoint, headerKind, body], context) => {
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (headerKind !== "missing") {
            headers["x-agent-id"] = headerKind === "garbage-id" ? "'; DROP TABLE runs; --" : credentials.agentId;
            headers["x-agent-token"] = headerKind === "wrong-token" ? "e3agt_wrong" : credentials.agentToken;
          }
          const before = await databaseDigest();
          const response = await handleAgentRequest(request(endpoint, body, headers), endpoint, harness.deps);
          context.log(`${endpoint} ${headerKind} ${body.slice(0, 160)} -> ${response.status}`);
          expect(response.status).toBeLessThan(500);
          if (response.status >= 400) {
            refused += 1;
            const payload = (await response.json()) as { error?: { code?: string; message?: string } };
            expect(payload.error?.message?.length ?? 0).toBeGreaterThan(0);
            expect(await databaseDigest()).toBe(before);
          }
        },
      ),
      { numRuns: 500 },
    );
    // The generators aim at refusals; most requests must have been refused for the check to mean anything.
    expect(refused).toBeGreaterThan(350);
  });
});
