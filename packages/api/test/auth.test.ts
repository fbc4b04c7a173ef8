import { randomBytes } from "node:crypto";
import { seedDatabase } from "@e3/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuth, impersonationLifetimeSeconds, sessionLifetimeSeconds } from "../src/auth/auth.ts";
import { createRequestContext } from "../src/auth/context.ts";
import { createHarness, type Harness } from "./fixtures.ts";

// better-auth on the real database: password sign-in with the seed's hashes, sessions that expire, and admin
// impersonation of a client user, audited.

let harness: Harness;
let auth: ReturnType<typeof createAuth>;
let accounts: { admin: { email: string; password: string }; client: { email: string; password: string } };

beforeAll(async () => {
  harness = await createHarness("auth");
  auth = createAuth({ db: harness.db, secret: randomBytes(32).toString("hex"), baseURL: "http://portal.test" });
  const seeded = await seedDatabase(harness.db);
  if (!seeded.created) throw new Error("expected a fresh database");
  accounts = seeded;
});
afterAll(() => harness.close());

/** The cookies a browser would keep: the last value set for each name, without the ones cleared. */
function cookieOf(response: Response): string {
  const jar = new Map<string, string>();
  for (const line of response.headers.getSetCookie()) {
    const [pair = ""] = line.split(";");
    const name = pair.slice(0, pair.indexOf("="));
    const value = pair.slice(pair.indexOf("=") + 1);
    if (value === "") jar.delete(name);
    else jar.set(name, value);
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
}

async function signIn(email: string, password: string): Promise<Response> {
  return auth.api.signInEmail({ body: { email, password }, asResponse: true });
}

async function contextFor(cookie: string) {
  const request = new Request("http://portal.test/api/trpc/x", { headers: { cookie } });
  return createRequestContext(request, { ...harness.deps, live: null, auth });
}

describe("sign-in and sessions", () => {
  it("signs in a seeded client with its password, scoped to its tenant, for a limited time", async () => {
    const response = await signIn(accounts.client.email, accounts.client.password);
    expect(response.status).toBe(200);
    const context = await contextFor(cookieOf(response));
    const tenant = await harness.db.tenant.findFirstOrThrow();
    expect(context.user).toMatchObject({ email: accounts.client.email, role: "client", tenantId: tenant.id });
    const session = await harness.db.session.findFirstOrThrow({ where: { userId: context.user!.id } });
    const lifetime = (session.expiresAt.getTime() - session.createdAt.getTime()) / 1000;
    expect(Math.abs(lifetime - sessionLifetimeSeconds)).toBeLessThan(60);
  });

  it("refuses a wrong password and an unknown session", async () => {
    const wrong = await signIn(accounts.client.email, "definitely-wrong");
    expect(wrong.status).toBe(401);
    const context = await contextFor("better-auth.session_token=forged.value");
    expect(context.user).toBeNull();
  });

  it("refuses self sign-up: accounts are created by admins", async () => {
    const response = await auth.api.signUpEmail({
      body: { email: "stranger@example.com", password: "long enough password", name: "S" },
      asResponse: true,
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(await harness.db.user.count({ where: { email: "stranger@example.com" } })).toBe(0);
  });
});

describe("admin impersonation", () => {
  it("lets an admin view the portal as a client, for an hour, and records it in the audit log", async () => {
    const admin = await signIn(accounts.admin.email, accounts.admin.password);
    const adminContext = await contextFor(cookieOf(admin));
    expect(adminContext.user?.role).toBe("admin");
    const client = await harness.db.user.findUniqueOrThrow({ where: { email: accounts.client.email } });

    const impersonation = await auth.api.impersonateUser({
      body: { userId: client.id },
      headers: new Headers({ cookie: cookieOf(admin) }),
      asResponse: true,
    });
    expect(impersonation.status).toBe(200);
    const viewing = await contextFor(cookieOf(impersonation));
    expect(viewing.user).toMatchObject({ id: client.id, role: "client", tenantId: client.tenantId });
    expect(viewing.impersonatedBy).toBe(adminContext.user!.id);

    const session = await harness.db.session.findFirstOrThrow({
      where: { userId: client.id, impersonatedBy: { not: null } },
    });
    expect((session.expiresAt.getTime() - Date.now()) / 1000).toBeLessThanOrEqual(impersonationLifetimeSeconds);
    const audit = await harness.db.auditLog.findMany({ where: { action: "user.impersonate" } });
    expect(audit).toMatchObject([
      { actorUserId: adminContext.user!.id, targetId: client.id, tenantId: client.tenantId },
    ]);
  });

  it("does not let a client impersonate anyone", async () => {
    const client = await signIn(accounts.client.email, accounts.client.password);
    const admin = await harness.db.user.findUniqueOrThrow({ where: { email: accounts.admin.email } });
    const attempt = await auth.api.impersonateUser({
      body: { userId: admin.id },
      headers: new Headers({ cookie: cookieOf(client) }),
      asResponse: true,
    });
    expect(attempt.status).toBe(403);
  });
});
