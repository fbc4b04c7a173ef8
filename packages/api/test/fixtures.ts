import { randomBytes } from "node:crypto";
import { createDatabase, type Database, generateToken, hashToken, type Job } from "@e3/db";
import { createMigratedTestDatabase, type TestDatabase } from "@e3/db/testing";
import type { EnrollResponse } from "../src/agent/contract.ts";
import type { AgentApiDeps } from "../src/agent/handlers.ts";
import { handleAgentRequest } from "../src/agent/http.ts";
import { RunUpdates } from "../src/live/run-updates.ts";
import { type Keyring, keyringFromEnv, sealSecret } from "../src/secrets/envelope.ts";
import { runColumns } from "../src/services/runs.ts";
import type { Context } from "../src/trpc.ts";

// Test fixtures on a real, freshly migrated PostgreSQL database.

export type Harness = {
  database: TestDatabase;
  db: Database;
  keyring: Keyring;
  deps: AgentApiDeps;
  live: RunUpdates;
  close: () => Promise<void>;
};

export async function createHarness(label: string): Promise<Harness> {
  const database = await createMigratedTestDatabase(label);
  const db = createDatabase(database.url, { poolSize: 8 });
  const keyring = keyringFromEnv({ E3_SECRET_KEY: randomBytes(32).toString("base64") });
  const deps: AgentApiDeps = {
    db,
    keyring,
    config: { AGENT_RECLAIM_GRACE_SECONDS: 180, AGENT_WATCHDOG_TIMEOUT_SECONDS: 720 },
  };
  const live = new RunUpdates(database.url, { pollMs: 500 });
  return {
    database,
    db,
    keyring,
    deps,
    live,
    close: async () => {
      await live.close();
      await db.$disconnect();
      await database.drop();
    },
  };
}

/** The tRPC context of a request by `user` (null: signed out). */
export function callerContext(harness: Harness, user: Context["user"], ip: string | null = null): Context {
  return {
    db: harness.db,
    keyring: harness.keyring,
    config: harness.deps.config,
    user,
    impersonatedBy: null,
    ip,
    live: harness.live,
  };
}

export async function createTenant(db: Database, name = `Tenant ${randomBytes(3).toString("hex")}`) {
  return db.tenant.create({ data: { name, slug: name.toLowerCase().replace(/\W+/g, "-") } });
}

export async function createEnrollmentToken(db: Database, tenantId: string, expiresInMs = 3_600_000) {
  const token = generateToken("e3enr");
  await db.enrollmentToken.create({
    data: { tenantId, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + expiresInMs) },
  });
  return token;
}

export function agentRequest(endpoint: string, body: unknown, credentials?: { agentId: string; agentToken: string }) {
  return new Request(`http://portal.test/agent/${endpoint}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(credentials ? { "x-agent-id": credentials.agentId, "x-agent-token": credentials.agentToken } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function callAgentApi(
  deps: AgentApiDeps,
  endpoint: string,
  body: unknown,
  credentials?: { agentId: string; agentToken: string },
) {
  const response = await handleAgentRequest(agentRequest(endpoint, body, credentials), endpoint, deps);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function enrollAgent(deps: AgentApiDeps, tenantId: string, hostname = "host-1"): Promise<EnrollResponse> {
  const token = await createEnrollmentToken(deps.db, tenantId);
  const response = await callAgentApi(deps, "enroll", { token, hostname, os: "linux", arch: "x64", version: "0.1.0" });
  if (response.status !== 200) throw new Error(`enroll failed: ${JSON.stringify(response.body)}`);
  return response.body as EnrollResponse;
}

export async function createJob(
  harness: Pick<Harness, "db" | "keyring">,
  tenantId: string,
  agentId: string,
  overrides: Partial<Job> = {},
): Promise<Job> {
  return harness.db.job.create({
    data: {
      tenantId,
      agentId,
      name: "Documents",
      engine: "backup",
      sourcePaths: ["/home/user/Documents"],
      destType: "s3",
      destBucket: "backups",
      destPrefix: "host-1",
      destEndpoint: "http://127.0.0.1:19000",
      destRegion: "us-east-1",
      destAccessKeyEnc: sealSecret(harness.keyring, "AKIATESTKEY", "dest_access_key_enc"),
      destSecretKeyEnc: sealSecret(harness.keyring, "secret-key-value", "dest_secret_key_enc"),
      repoPasswordEnc: sealSecret(harness.keyring, "repository-password", "repo_password_enc"),
      scheduleJson: { kind: "cron", cron: "0 2 * * *", timezone: "UTC" },
      retentionJson: { keepDaily: 7 },
      ...overrides,
    } as Parameters<Database["job"]["create"]>[0]["data"],
  });
}

export async function queueRun(db: Database, job: Job, createdAt = new Date()) {
  return db.run.create({ data: { ...runColumns(job), createdAt } });
}
