import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listMigrations } from "@e3/db";
import { createMigratedTestDatabase, createTestDatabase } from "@e3/db/testing";
import { describe, expect, it } from "vitest";
import { portalHarness } from "./portal.ts";

// What the README's first command ends in: scripts/start.ts (after bootstrap, install and build) must serve the
// home page with a healthy database and a running worker, on the embedded database and on PostgreSQL alike.
// The suite runs after `pnpm build` (scripts/test.sh), so the production build is what is served.

const { startPortal, stopGracefully, cleanups } = portalHarness();

async function expectHealthyHomePage(url: string) {
  // The worker beats every second here; wait for its first beat to be visible.
  let health: { ok: boolean; workerHeartbeatAgeSeconds: number | null } = {
    ok: false,
    workerHeartbeatAgeSeconds: null,
  };
  for (let i = 0; i < 50 && health.workerHeartbeatAgeSeconds === null; i++) {
    health = (await (await fetch(`${url}/api/health`)).json()) as typeof health;
    if (health.workerHeartbeatAgeSeconds === null) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(health.ok).toBe(true);
  expect(health.workerHeartbeatAgeSeconds).not.toBeNull();

  const response = await fetch(url);
  expect(response.status).toBe(200);
  const html = await response.text();
  expect(html).toMatch(/data-testid="database-health"[^>]*><span[^>]*>healthy</);
  expect(html).toMatch(/data-testid="worker-health"[^>]*><span[^>]*>running</);
  expect(html).toMatch(/data-testid="count-users">2</);
  expect(html).toContain("Version 0.1.0");
}

describe("npm start (scripts/start.ts)", () => {
  it("serves the home page on the embedded database, seeded once, and keeps its data across restarts", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "e3-start-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = { DATABASE_URL: "", E3_DATA_DIR: dataDir };

    const first = await startPortal(env);
    expect(first.output()).toContain("database: embedded PostgreSQL (PGlite)");
    expect(first.output()).toMatch(/admin +admin@e3\.local \/ \S+/);
    await expectHealthyHomePage(first.url);
    expect(await stopGracefully(first.child)).toBe(0);

    const second = await startPortal(env);
    expect(second.output()).toContain("users exist already");
    expect(second.output()).toContain(`0 migrations applied, ${(await listMigrations()).length} already`);
    await expectHealthyHomePage(second.url);
  });

  it("serves the home page and the agent API on PostgreSQL when DATABASE_URL is set", async () => {
    const database = await createTestDatabase("start");
    cleanups.push(database.drop);
    const portal = await startPortal({ DATABASE_URL: database.url });
    expect(portal.output()).toContain("database: PostgreSQL from DATABASE_URL");
    await expectHealthyHomePage(portal.url);

    // The seed's enrollment token, printed once, enrolls an agent through the mounted /agent/* adapter.
    const token = /enrollment +(e3enr_\S+)/.exec(portal.output())?.[1];
    expect(token).toBeDefined();
    const post = (endpoint: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${portal.url}/agent/${endpoint}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    const enrolled = (await (await post("enroll", { token, hostname: "e2e-host" })).json()) as {
      agentId: string;
      agentToken: string;
    };
    const auth = { "x-agent-id": enrolled.agentId, "x-agent-token": enrolled.agentToken };
    const next = await post("next_run", {}, auth);
    expect(next.status).toBe(200);
    expect(await next.json()).toEqual({ run: null });
    expect((await post("next_run", {}, { ...auth, "x-agent-token": "wrong" })).status).toBe(401);
    expect((await post("enroll", { token, hostname: "again" })).status).toBe(401);

    const openapi = (await (await fetch(`${portal.url}/agent/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toContain("/agent/next_run");
  });

  it("reports an unreachable database on /api/health with 503", async () => {
    const database = await createMigratedTestDatabase("gone");
    const portal = await startPortal({ DATABASE_URL: database.url });
    await database.drop();
    const response = await fetch(`${portal.url}/api/health`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { ok: boolean; database: { error: string } };
    expect(body.ok).toBe(false);
    expect(body.database.error.length).toBeGreaterThan(0);
  });
});
