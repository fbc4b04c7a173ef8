import { createDatabase, type Database } from "@e3/db";
import { createMigratedTestDatabase, type TestDatabase } from "@e3/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPortalStatus } from "../src/status.ts";
import { currentWorkerIdentity, latestWorkerHeartbeatAge, recordWorkerHeartbeat } from "../src/worker/heartbeat.ts";

let database: TestDatabase;
let db: Database;
beforeAll(async () => {
  database = await createMigratedTestDatabase("status");
  db = createDatabase(database.url, { poolSize: 2 });
});
afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

describe("portal status", () => {
  it("reports a healthy database, counts, and no worker before one ran", async () => {
    const status = await getPortalStatus(db, "1.2.3");
    expect(status.version).toBe("1.2.3");
    expect(status.database.ok).toBe(true);
    expect(status.counts).toEqual({ tenants: 0, users: 0, agents: 0, jobs: 0, runs: 0 });
    expect(status.workerHeartbeatAgeSeconds).toBeNull();
  });

  it("reports the age of the youngest worker heartbeat", async () => {
    const now = new Date("2026-11-24T12:00:00Z");
    const older = { ...currentWorkerIdentity(), id: "host-a:1" };
    const younger = { ...currentWorkerIdentity(), id: "host-b:2" };
    await recordWorkerHeartbeat(db, older, new Date(now.getTime() - 90_000));
    await recordWorkerHeartbeat(db, younger, new Date(now.getTime() - 15_000));
    expect(await latestWorkerHeartbeatAge(db, now)).toBe(15);
    await recordWorkerHeartbeat(db, older, new Date(now.getTime() - 5_000));
    expect(await latestWorkerHeartbeatAge(db, now)).toBe(5);
  });

  it("reports an unreachable database as unhealthy instead of throwing", async () => {
    const unreachable = createDatabase("postgresql://nobody:wrong@127.0.0.1:1/none", { poolSize: 1 });
    try {
      const status = await getPortalStatus(unreachable, "1.2.3");
      expect(status.database.ok).toBe(false);
      expect(status.counts).toBeNull();
    } finally {
      await unreachable.$disconnect();
    }
  });
});
