import { randomBytes } from "node:crypto";
import { seedDatabase } from "@e3/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { totpCode } from "../../../test/portal/totp.ts";
import { createAuth, defaultSessionIdleSeconds, impersonationLifetimeSeconds } from "../src/auth/auth.ts";
import { createRequestContext } from "../src/auth/context.ts";
import { createMailer } from "../src/notify/email.ts";
import { createHarness, type Harness } from "./fixtures.ts";
import { type SmtpListener, startSmtpListener } from "./smtp-listener.ts";

// better-auth on the real database: password sign-in with the seed's hashes, sessions that expire when idle,
// password reset by email through a real SMTP listener, TOTP, disabled tenants, and admin impersonation, audited.

let harness: Harness;
let auth: ReturnType<typeof createAuth>;
let accounts: { admin: { email: string; password: string }; client: { email: string; password: string } };
let smtp: SmtpListener;
let mails: SmtpListener["mails"];
const secret = randomBytes(32).toString("hex");

beforeAll(async () => {
  harness = await createHarness("auth");
  smtp = await startSmtpListener();
  mails = smtp.mails;
  const mailer = createMailer(smtp.url, "e3 <e3@e3.test>");
  auth = createAuth({
    db: harness.db,
    secret,
    baseURL: "http://portal.test",
    sendPasswordReset: ({ to, url }) => mailer.sendRaw(to, "[e3] Reset your password", `Open ${url}`),
  });
  const seeded = await seedDatabase(harness.db);
  if (!seeded.created) throw new Error("expected a fresh database");
  accounts = seeded;
});
afterAll(async () => {
  await smtp.close();
  await harness.close();
});

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

/** The browser's way in: a POST through the auth handler, as /api/auth/[...all] passes it on. */
function verifyTotpOverHttp(cookie: string, code: string): Promise<Response> {
  return auth.handler(
    new Request("http://portal.test/api/auth/two-factor/verify-totp", {
      method: "POST",
      headers: { cookie, origin: "http://portal.test", "content-type": "application/json" },
      body: JSON.stringify({ code }),
    }),
  );
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
    expect(Math.abs(lifetime - defaultSessionIdleSeconds)).toBeLessThan(60);
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

describe("idle sessions", () => {
  it("ends a session after the idle time unless the browser refreshes it, and API calls alone do not", async () => {
    const shortAuth = createAuth({ db: harness.db, secret, baseURL: "http://portal.test", sessionIdleSeconds: 3 });
    const idle = cookieOf(await shortAuth.api.signInEmail({ body: accounts.client, asResponse: true }));
    const active = cookieOf(await shortAuth.api.signInEmail({ body: accounts.client, asResponse: true }));
    const contextOf = (cookie: string) =>
      createRequestContext(new Request("http://portal.test/api/trpc/x", { headers: { cookie } }), {
        ...harness.deps,
        live: null,
        auth: shortAuth,
      });
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    // An API call on the idle session (a polling page) does not extend it; the active one refreshes itself.
    expect((await contextOf(idle)).user).not.toBeNull();
    const refreshed = await shortAuth.handler(
      new Request("http://portal.test/api/auth/get-session", { headers: { cookie: active } }),
    );
    expect(refreshed.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    expect((await contextOf(idle)).user).toBeNull();
    expect((await contextOf(active)).user?.email).toBe(accounts.client.email);
  });
});

describe("password reset by email", () => {
  it("mails a one-hour link through SMTP; the link leads to a form whose token sets the new password", async () => {
    mails.length = 0;
    const request = await auth.api.requestPasswordReset({
      body: { email: accounts.client.email, redirectTo: "/reset-password" },
      asResponse: true,
    });
    expect(request.status).toBe(200);
    await expect.poll(() => mails.length).toBe(1);
    expect(mails[0]).toMatchObject({ to: accounts.client.email, subject: "[e3] Reset your password" });
    const link = /(http:\/\/portal\.test\S+)/.exec(mails[0]!.text)?.[1];
    expect(link).toMatch(/\/api\/auth\/reset-password\//);

    const opened = await auth.handler(new Request(link!, { redirect: "manual" }));
    expect(opened.status).toBe(302);
    const landing = new URL(opened.headers.get("location")!, "http://portal.test");
    expect(landing.pathname).toBe("/reset-password");
    const token = landing.searchParams.get("token")!;
    expect(token).toBeTruthy();

    const newPassword = "a brand new password";
    const reset = await auth.api.resetPassword({ body: { newPassword, token }, asResponse: true });
    expect(reset.status).toBe(200);
    expect((await signIn(accounts.client.email, accounts.client.password)).status).toBe(401);
    expect((await signIn(accounts.client.email, newPassword)).status).toBe(200);
    // The token works once.
    const again = await auth.api.resetPassword({
      body: { newPassword: "yet another password", token },
      asResponse: true,
    });
    expect(again.status).toBe(400);
    accounts.client.password = newPassword;
  });

  it("answers an unknown address like a known one and sends nothing", async () => {
    mails.length = 0;
    const request = await auth.api.requestPasswordReset({
      body: { email: "nobody@example.com", redirectTo: "/reset-password" },
      asResponse: true,
    });
    expect(request.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mails).toEqual([]);
  });
});

describe("TOTP", () => {
  it("is enabled with the password and a first code, then sign-in asks for a code and backup codes work once", async () => {
    const user = await harness.db.user.findUniqueOrThrow({ where: { email: accounts.admin.email } });
    const session = cookieOf(await signIn(accounts.admin.email, accounts.admin.password));
    const enabled = await auth.api.enableTwoFactor({
      body: { password: accounts.admin.password },
      headers: new Headers({ cookie: session }),
    });
    if (enabled.method !== "totp") throw new Error("expected a TOTP set-up");
    expect(enabled.totpURI).toMatch(/^otpauth:\/\/totp\/e3%20backup:/);
    expect(enabled.backupCodes.length).toBeGreaterThanOrEqual(8);
    // Not on until a code from the authenticator proves it was set up.
    expect((await harness.db.user.findUniqueOrThrow({ where: { id: user.id } })).twoFactorEnabled).toBe(false);
    const firstCode = totpCode(enabled.totpURI);
    const verified = await auth.api.verifyTOTP({
      body: { code: firstCode },
      headers: new Headers({ cookie: session }),
      asResponse: true,
    });
    expect(verified.status).toBe(200);
    expect((await harness.db.user.findUniqueOrThrow({ where: { id: user.id } })).twoFactorEnabled).toBe(true);

    const password = await signIn(accounts.admin.email, accounts.admin.password);
    expect(await password.clone().json()).toMatchObject({ twoFactorRedirect: true });
    const pending = cookieOf(password);
    expect((await contextFor(pending)).user).toBeNull();
    const wrong = await auth.api.verifyTOTP({
      body: { code: totpCode(enabled.totpURI) === "000000" ? "111111" : "000000" },
      headers: new Headers({ cookie: pending }),
      asResponse: true,
    });
    expect(wrong.status).toBe(401);
    // The code that turned TOTP on is spent: reusing it (a code seen over a shoulder) is refused, even though it is
    // still inside its time window. The authenticator's next code (the window's +1 step) signs in.
    const replayed = await verifyTotpOverHttp(pending, firstCode);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ code: "TOTP_CODE_ALREADY_USED" });
    const nextCode = totpCode(enabled.totpURI, Date.now() + 30_000);
    const right = await auth.api.verifyTOTP({
      body: { code: nextCode },
      headers: new Headers({ cookie: pending }),
      asResponse: true,
    });
    expect(right.status).toBe(200);
    // And that one is spent too, for the next sign-in.
    const again = cookieOf(await signIn(accounts.admin.email, accounts.admin.password));
    const reusedNext = await verifyTotpOverHttp(again, nextCode);
    expect(reusedNext.status).toBe(401);
    expect(await reusedNext.json()).toMatchObject({ code: "TOTP_CODE_ALREADY_USED" });
    expect((await contextFor(cookieOf(right))).user?.email).toBe(accounts.admin.email);

    const second = cookieOf(await signIn(accounts.admin.email, accounts.admin.password));
    const backup = await auth.api.verifyBackupCode({
      body: { code: enabled.backupCodes[0]! },
      headers: new Headers({ cookie: second }),
      asResponse: true,
    });
    expect(backup.status).toBe(200);
    const third = cookieOf(await signIn(accounts.admin.email, accounts.admin.password));
    const reused = await auth.api.verifyBackupCode({
      body: { code: enabled.backupCodes[0]! },
      headers: new Headers({ cookie: third }),
      asResponse: true,
    });
    expect(reused.status).toBe(401);

    // Later tests sign the admin in with the password alone.
    await harness.db.twoFactor.deleteMany({ where: { userId: user.id } });
    await harness.db.user.update({ where: { id: user.id }, data: { twoFactorEnabled: false } });
  });
});

describe("disabled tenants", () => {
  it("refuses their users' sign-in with a message saying what to do", async () => {
    const tenant = await harness.db.tenant.findFirstOrThrow();
    await harness.db.tenant.update({ where: { id: tenant.id }, data: { disabledAt: new Date() } });
    try {
      const refused = await signIn(accounts.client.email, accounts.client.password);
      expect(refused.status).toBe(403);
      expect(JSON.stringify(await refused.json())).toMatch(/organization is disabled/);
    } finally {
      await harness.db.tenant.update({ where: { id: tenant.id }, data: { disabledAt: null } });
    }
    expect((await signIn(accounts.client.email, accounts.client.password)).status).toBe(200);
  });
});
