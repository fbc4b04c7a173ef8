import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createDatabase, type Database } from "@e3/db";
import { createTestDatabase } from "@e3/db/testing";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SmtpListener, startSmtpListener } from "../../packages/api/test/smtp-listener.ts";
import { seriousAxeViolations } from "./axe.ts";
import { portalHarness, type RunningPortal } from "./portal.ts";
import { launchChromium, screenshotsDir, seededCredentials, signIn } from "./session.ts";
import { totpCode } from "./totp.ts";

// The account and admin side in Debian's Chromium against the production build: password reset through a real SMTP
// listener, TOTP set-up and sign-in with codes computed here, session expiry, idle sign-out (E3_SESSION_IDLE_MINUTES),
// the admin's "view as client" banner, full maintenance from a job's page, validated settings, a client refused the
// admin side, and every admin and account page screenshotted in light and dark mode and checked with axe.

const { startPortal, cleanups } = portalHarness();
let browser: Browser;
let smtp: SmtpListener;

beforeAll(async () => {
  await mkdir(screenshotsDir, { recursive: true });
  browser = await launchChromium();
  smtp = await startSmtpListener();
});
afterAll(async () => {
  await browser?.close();
  await smtp?.close();
});

async function portalWithDatabase(label: string, env: NodeJS.ProcessEnv = {}) {
  const database = await createTestDatabase(label);
  cleanups.push(database.drop);
  const portal = await startPortal({ DATABASE_URL: database.url, ...env });
  const db = createDatabase(database.url, { poolSize: 2 });
  cleanups.push(() => db.$disconnect());
  return { portal, db };
}

/** expect.poll with room for a shared 2-core machine (its default gives up after one second). */
function poll<T>(read: () => T | Promise<T>, options: { timeout?: number } = {}) {
  return expect.poll(read, { timeout: options.timeout ?? 20_000, interval: 100 });
}

/** Waits until no skeleton placeholder is left, so screenshots and axe see the loaded page. */
async function settled(page: Page) {
  // Link prefetches of the navigation may keep the network busy for a while; they do not change the page.
  await page.waitForLoadState("networkidle", { timeout: 5_000 }).catch(() => undefined);
  await poll(() => page.locator(".animate-pulse").count()).toBe(0);
}

async function shoot(page: Page, name: string, colorScheme: "light" | "dark") {
  await settled(page);
  await page.screenshot({ path: join(screenshotsDir, `${name}-${colorScheme}.png`), fullPage: true });
  expect(await seriousAxeViolations(page), `${name} (${colorScheme})`).toEqual([]);
}

async function signOut(page: Page) {
  await page.getByTestId("user-menu").click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await page.waitForURL((url) => url.pathname === "/sign-in");
}

describe("account: password reset, TOTP and session expiry", () => {
  it("resets a forgotten password from the emailed link, turns on TOTP and signs in with a code, and expires a session", {
    timeout: 240_000,
  }, async () => {
    // The shortest idle timeout there is (1 minute): a second browser, signed in as the admin, sits untouched on the
    // fleet page while the client's flow below runs (its own input keeps its session alive), and must be signed out.
    const { portal, db } = await portalWithDatabase("account", { SMTP_URL: smtp.url, E3_SESSION_IDLE_MINUTES: "1" });
    const client = seededCredentials(portal.output(), "client");
    const idle = await browser.newContext({ colorScheme: "light" });
    const idlePage = await idle.newPage();
    await signIn(idlePage, portal.url, seededCredentials(portal.output(), "admin"));
    await idlePage.goto(`${portal.url}/admin/tenants`);
    const idleSince = Date.now();
    const context = await browser.newContext({ colorScheme: "light" });
    const page = await context.newPage();

    // Forgot password → email through SMTP → the link in the browser → new password → sign in with it.
    smtp.mails.length = 0;
    await page.goto(`${portal.url}/sign-in`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.waitForURL(`${portal.url}/forgot-password`);
    await shoot(page, "forgot-password", "light");
    await page.getByLabel("Email").fill(client.email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await poll(() => page.getByText("an email with a reset link is on its way").count()).toBe(1);
    await poll(() => smtp.mails.filter((mail) => mail.to.includes(client.email)).length).toBe(1);
    const mail = smtp.mails.find((entry) => entry.to.includes(client.email))!;
    expect(mail.subject).toBe("[e3] Reset your password");
    const link = /(http:\/\/127\.0\.0\.1:\d+\/api\/auth\/reset-password\/\S+)/.exec(mail.text)?.[1];
    expect(link, mail.text).toBeDefined();
    await page.goto(link!);
    await page.waitForURL((url) => url.pathname === "/reset-password" && url.searchParams.has("token"));
    await shoot(page, "reset-password", "light");
    const newPassword = "correct horse battery staple";
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Repeat the new password").fill("something else entirely");
    await page.getByRole("button", { name: "Set new password" }).click();
    await poll(() => page.getByText("does not match the new password").count()).toBe(1);
    await page.getByLabel("Repeat the new password").fill(newPassword);
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.waitForURL((url) => url.pathname === "/sign-in" && url.searchParams.get("reason") === "password-reset");
    await poll(() => page.getByText("Your password was changed").count()).toBe(1);
    await page.getByLabel("Email").fill(client.email);
    await page.getByLabel("Password").fill(client.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await poll(() => page.locator("#sign-in-error").textContent()).toMatch(/invalid/i);
    await page.getByLabel("Password").fill(newPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${portal.url}/dashboard`);

    // TOTP: set up on the account page (QR drawn locally), confirmed with a computed code.
    await page.goto(`${portal.url}/account`);
    await shoot(page, "account", "light");
    await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
    await page.getByLabel("Confirm with your password").fill(newPassword);
    await page.getByRole("button", { name: "Continue" }).click();
    const qr = page.getByTestId("totp-qr");
    await poll(() => qr.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
    const uri = `otpauth://totp/e3?secret=${secret}`;
    expect(await page.getByTestId("backup-codes").locator("li").count()).toBeGreaterThanOrEqual(8);
    await shoot(page, "account-totp-setup", "light");
    await page.getByLabel("Code from the app").fill(totpCode(uri));
    await page.getByRole("button", { name: "Turn on" }).click();
    await poll(() => page.getByRole("button", { name: "Turn off two-factor" }).count()).toBe(1);
    expect((await db.user.findUniqueOrThrow({ where: { email: client.email } })).twoFactorEnabled).toBe(true);

    await signOut(page);
    await poll(() => page.getByText("You have signed out.").count()).toBe(1);
    await page.getByLabel("Email").fill(client.email);
    await page.getByLabel("Password").fill(newPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    const code = page.getByLabel("Authentication code");
    await code.waitFor();
    await shoot(page, "sign-in-totp", "light");
    await code.fill(totpCode(uri) === "123456" ? "654321" : "123456");
    await page.getByRole("button", { name: "Verify" }).click();
    await poll(() => page.locator("#sign-in-error").textContent()).toMatch(/not valid/);
    // The code that turned TOTP on is spent (one use per code); the app's next one signs in.
    await code.fill(totpCode(uri, Date.now() + 30_000));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.waitForURL(`${portal.url}/dashboard`);

    // An expired session: the next page load returns to sign-in, which says why.
    await db.session.updateMany({
      where: { user: { email: client.email } },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    await page.goto(`${portal.url}/dashboard`);
    await page.waitForURL((url) => url.pathname === "/sign-in" && url.searchParams.get("reason") === "expired");
    await poll(() => page.getByText("Your session has expired").count()).toBe(1);
    await shoot(page, "sign-in-expired", "light");
    await context.close();

    // The idle admin: after a minute without input the page signed itself out, back to sign-in with the reason and
    // the page to return to, and the session is gone on the server too.
    await idlePage.waitForURL(
      (url) =>
        url.pathname === "/sign-in" &&
        url.searchParams.get("reason") === "idle" &&
        url.searchParams.get("next") === "/admin/tenants",
      { timeout: 120_000 },
    );
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(60_000);
    await poll(() => idlePage.getByText("You were signed out after a period of inactivity").count()).toBe(1);
    await shoot(idlePage, "sign-in-idle", "light");
    // Signed out, or expired on the server by the same idle time: no admin session that could still be used.
    expect(await db.session.count({ where: { user: { role: "admin" }, expiresAt: { gt: new Date() } } })).toBe(0);
    const afterIdle = await idlePage.evaluate(() => fetch("/api/trpc/admin.fleet").then((response) => response.status));
    expect(afterIdle).toBe(401);
    await idle.close();

    for (const colorScheme of ["dark"] as const) {
      const dark = await browser.newContext({ colorScheme });
      const darkPage = await dark.newPage();
      for (const path of [
        "/forgot-password",
        "/reset-password?token=x",
        "/sign-in?reason=expired",
        "/sign-in?reason=idle",
      ]) {
        await darkPage.goto(`${portal.url}${path}`);
        const [page, reason] = path.slice(1).split("?reason=");
        const name = reason ? `${page}-${reason}` : page!.split("?")[0]!;
        await shoot(darkPage, name, colorScheme);
      }
      await dark.close();
    }
  });
});

/** An agent enrolled with the seed's token and a backup job on it, written as the wizard would store it. */
async function seedJob(portal: RunningPortal, db: Database) {
  const token = /enrollment +(e3enr_\S+)/.exec(portal.output())?.[1];
  const response = await fetch(`${portal.url}/agent/enroll`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, hostname: "finance-pc", os: "linux", arch: "x64", version: "0.1.0" }),
  });
  expect(response.status).toBe(200);
  const { agentId } = (await response.json()) as { agentId: string };
  const agent = await db.agent.findUniqueOrThrow({ where: { id: agentId } });
  return db.job.create({
    data: {
      tenantId: agent.tenantId,
      agentId,
      name: "Finance share",
      engine: "backup",
      sourcePaths: ["/srv/finance"],
      destType: "local",
      destLocalPath: "/var/backups/finance",
      scheduleJson: { kind: "cron", cron: "0 2 * * *", timezone: "UTC" },
      retentionJson: { keepDaily: 7 },
    },
  });
}

async function adminContext(portal: RunningPortal, colorScheme: "light" | "dark"): Promise<[BrowserContext, Page]> {
  const context = await browser.newContext({ colorScheme });
  const page = await context.newPage();
  await signIn(page, portal.url, seededCredentials(portal.output(), "admin"));
  return [context, page];
}

describe("admin side", () => {
  it("runs full maintenance on a job, impersonates with a banner, validates settings, refuses clients, and passes axe on every page", {
    timeout: 400_000,
  }, async () => {
    const { portal, db } = await portalWithDatabase("admin-side");
    const job = await seedJob(portal, db);
    const tenant = await db.tenant.findUniqueOrThrow({ where: { id: job.tenantId } });
    const [context, page] = await adminContext(portal, "light");
    await page.waitForURL(`${portal.url}/admin`);
    await poll(() => page.getByTestId("fleet-protected").textContent()).toBe("0");

    // Full maintenance from the job's page: a run and its command appear. No agent polls in this suite, so the run
    // stays queued; wizards.test.ts has a real agent carry a full maintenance out and the page show its success.
    await page.goto(`${portal.url}/admin/jobs`);
    await page.getByRole("link", { name: "Finance share" }).click();
    await page.waitForURL(`${portal.url}/admin/jobs/${job.id}`);
    await page.getByRole("button", { name: "Full maintenance" }).click();
    await page.getByRole("button", { name: "Start full maintenance" }).click();
    await poll(() => page.getByText("Maintenance queued for the agent").count()).toBe(1);
    const run = await db.run.findFirstOrThrow({ where: { jobId: job.id, runType: "maintenance_full" } });
    const command = await db.runCommand.findFirstOrThrow({ where: { runId: run.id } });
    expect(command).toMatchObject({ type: "maintenance_full", status: "pending", agentId: job.agentId });
    const row = page.locator(`[data-run-id="${run.id}"]`);
    await poll(() => row.textContent()).toMatch(/Maintenance \(full\).*Queued.*backup.*\/var\/backups\/finance/);
    await poll(() => page.locator('[data-command-type="maintenance_full"]').count()).toBe(1);
    await page.goto(`${portal.url}/admin/runs`);
    await page.getByLabel("Type").selectOption("maintenance_full");
    await poll(() => page.locator(`[data-run-id="${run.id}"]`).count()).toBe(1);
    // The run's time opens the run in the modal, with a link to its page.
    await page.locator(`[data-run-id="${run.id}"]`).getByRole("link").first().click();
    const runDialog = page.getByRole("dialog", { name: "Maintenance (full) of Finance share" });
    await poll(() => runDialog.getByTestId("run-command-type").textContent()).toBe("maintenance_full");
    expect(await runDialog.getByRole("link", { name: "Open the run page" }).getAttribute("href")).toBe(
      `/admin/runs/${run.id}`,
    );
    await page.keyboard.press("Escape");
    await page.goto(`${portal.url}/admin/runs/${run.id}`);
    await poll(() => page.getByTestId("run-command-type").textContent()).toBe("maintenance_full");

    // Settings: a grace that is not below the timeout is refused at its field.
    await page.goto(`${portal.url}/admin/settings`);
    await page.getByLabel("Watchdog timeout (seconds)").fill("300");
    await page.getByLabel("Reclaim grace (seconds)").fill("300");
    await page.getByRole("button", { name: "Save settings" }).click();
    const grace = page.getByLabel("Reclaim grace (seconds)");
    await poll(() => grace.getAttribute("aria-invalid")).toBe("true");
    await poll(() => page.getByText("must be less than the watchdog timeout, or the watchdog").count()).toBe(1);
    // The first invalid field has the focus.
    expect(await page.evaluate('document.activeElement?.getAttribute("aria-invalid")')).toBe("true");
    await grace.fill("120");
    await page.getByLabel("Endpoint URL").fill("https://s3.provider.test");
    await page.getByRole("button", { name: "Save settings" }).click();
    await poll(() => page.getByText("Saved.").count()).toBe(1);
    const stored = await db.setting.findMany({ orderBy: { key: "asc" } });
    expect(Object.fromEntries(stored.map((setting) => [setting.key, setting.value]))).toMatchObject({
      agent_reclaim_grace_seconds: 120,
      agent_watchdog_timeout_seconds: 300,
      agent_s3_endpoint: "https://s3.provider.test",
    });

    // Users: create one with a generated password, then view the portal as the seeded client.
    await page.goto(`${portal.url}/admin/users`);
    await page.getByRole("button", { name: "New user" }).click();
    const newUser = page.getByRole("dialog", { name: "New user" });
    await newUser.getByRole("textbox", { name: "Email", exact: true }).fill("ops@demo.test");
    await newUser.getByRole("textbox", { name: "Name", exact: true }).fill("Ops");
    await newUser.getByRole("combobox", { name: "Tenant" }).selectOption(tenant.id);
    await page.getByRole("button", { name: "Create user" }).click();
    const generated = (await page.getByTestId("new-password").textContent())!.trim();
    expect(generated).toMatch(/^[A-Za-z0-9_-]{20}$/);
    await page.getByRole("button", { name: "Done" }).click();

    const client = seededCredentials(portal.output(), "client");
    await page.getByRole("button", { name: `Actions for ${client.email}` }).click();
    await page.getByRole("menuitem", { name: "View as client" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "View as client" }).click();
    await page.waitForURL(`${portal.url}/dashboard`);
    const banner = page.getByTestId("impersonation-banner");
    await poll(() => banner.textContent()).toContain(client.email);
    await shoot(page, "impersonation-banner", "light");
    // The admin side is closed while viewing as a client.
    expect((await page.goto(`${portal.url}/admin`))?.status()).toBe(404);
    await page.goto(`${portal.url}/dashboard`);
    await page.getByRole("button", { name: "Stop impersonating" }).click();
    await page.waitForURL(`${portal.url}/admin/users`);
    expect(await page.getByTestId("impersonation-banner").count()).toBe(0);
    await page.goto(`${portal.url}/admin/audit`);
    await page.getByLabel("Action").selectOption("user.impersonate");
    await poll(() => page.locator('[data-action="user.impersonate"]').count()).toBe(1);
    expect(await page.locator('[data-action="user.impersonate"]').textContent()).toContain("admin@e3.local");
    await context.close();

    // Every admin and account page, light and dark, with axe.
    const agentId = job.agentId;
    const pages: [string, string][] = [
      ["admin-fleet", "/admin"],
      ["admin-tenants", "/admin/tenants"],
      ["admin-tenant", `/admin/tenants/${tenant.id}`],
      ["admin-agents", "/admin/agents"],
      ["admin-agent", `/admin/agents/${agentId}`],
      ["admin-jobs", "/admin/jobs"],
      ["admin-job", `/admin/jobs/${job.id}`],
      ["admin-runs", "/admin/runs"],
      ["admin-run", `/admin/runs/${run.id}`],
      ["admin-users", "/admin/users"],
      ["admin-audit", "/admin/audit"],
      ["admin-settings", "/admin/settings"],
      ["admin-account", "/account"],
    ];
    for (const colorScheme of ["light", "dark"] as const) {
      const [shots, shotPage] = await adminContext(portal, colorScheme);
      for (const [name, path] of pages) {
        await shotPage.goto(`${portal.url}${path}`);
        await shoot(shotPage, name, colorScheme);
      }
      if (colorScheme === "dark") {
        // The impersonation banner in dark mode too.
        await shotPage.goto(`${portal.url}/admin/users`);
        await shotPage.getByRole("button", { name: `Actions for ${client.email}` }).click();
        await shotPage.getByRole("menuitem", { name: "View as client" }).click();
        await shotPage.getByRole("dialog").getByRole("button", { name: "View as client" }).click();
        await shotPage.waitForURL(`${portal.url}/dashboard`);
        await shoot(shotPage, "impersonation-banner", colorScheme);
      }
      await shots.close();
    }

    // A client can open neither the admin pages nor the admin API, and another tenant's run is not theirs to see.
    const other = await db.tenant.create({ data: { name: "Other Co", slug: "other-co" } });
    const otherAgent = await db.agent.create({
      data: { tenantId: other.id, name: "other-pc", hostname: "other-pc", tokenHash: "x".repeat(64) },
    });
    const otherJob = await db.job.create({
      data: {
        tenantId: other.id,
        agentId: otherAgent.id,
        name: "Other job",
        engine: "backup",
        destType: "local",
        destLocalPath: "/x",
        scheduleJson: { kind: "manual" },
      },
    });
    const otherRun = await db.run.create({
      data: { tenantId: other.id, jobId: otherJob.id, engine: "backup", destType: "local", destLocalPath: "/x" },
    });
    const clientContext = await browser.newContext();
    const clientPage = await clientContext.newPage();
    await signIn(clientPage, portal.url, client);
    for (const path of ["/admin", "/admin/runs", `/admin/runs/${otherRun.id}`, "/admin/users", "/admin/settings"]) {
      const response = await clientPage.goto(`${portal.url}${path}`);
      expect(response?.status(), path).toBe(404);
    }
    const input = encodeURIComponent(JSON.stringify({ json: { runId: otherRun.id } }));
    const viaApi = await clientPage.evaluate(async (query) => {
      const get = (procedure: string) =>
        fetch(`/api/trpc/${procedure}?input=${query}`).then(async (response) => ({
          status: response.status,
          body: await response.text(),
        }));
      return { own: await get("runs.get"), admin: await get("admin.run") };
    }, input);
    expect(viaApi.own.status).toBe(404);
    expect(viaApi.own.body).not.toContain("Other job");
    expect(viaApi.admin.status).toBe(403);
    // The client's own run page, if the client side has one, answers "not found" for the other tenant's run too.
    const runPage = await clientPage.goto(`${portal.url}/runs/${otherRun.id}`);
    expect(await clientPage.content()).not.toContain("Other job");
    expect([200, 404]).toContain(runPage?.status());
    await clientContext.close();
  });
});
