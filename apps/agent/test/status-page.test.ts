import { type ChildProcess, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { appRouter, keyringFromEnv, openSecret } from "@e3/api";
import { createDatabase, type Database } from "@e3/db";
import { createTestDatabase } from "@e3/db/testing";
import type { Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { portalHarness } from "../../../test/portal/portal.ts";
import { launchChromium, screenshotsDir } from "../../../test/portal/session.ts";
import { startAgentService } from "./agent-cli.ts";

// The agent's local status page in headless Chromium, against the production build of the portal on PostgreSQL:
// an agent started before it is enrolled offers the enrollment form; enrolled there, it shows the portal connected
// and its job; "Run now" on the page queues a backup, whose progress the page shows while it runs (screenshot in
// test-results/screenshots/), and which restic then checks. Without the token nothing is served.

const exec = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-status-page-"));
await chmod(dir, 0o755);
const { startPortal, cleanups } = portalHarness();
let browser: Browser | undefined;
let agent: ChildProcess | undefined;
afterAll(async () => {
  await browser?.close();
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    const exited = new Promise((resolve) => agent?.once("close", resolve));
    agent.kill("SIGKILL");
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the agent's status page", () => {
  it("enrolls the machine, starts a run now and shows its progress", { timeout: 300_000 }, async () => {
    const database = await createTestDatabase("statuspage");
    cleanups.push(database.drop);
    const secrets = {
      E3_SECRET_KEY: randomBytes(32).toString("base64"),
      E3_AUTH_SECRET: randomBytes(32).toString("base64"),
    };
    const portal = await startPortal({ DATABASE_URL: database.url, ...secrets });
    const db: Database = createDatabase(database.url, { poolSize: 2 });
    cleanups.unshift(() => db.$disconnect());
    const keyring = keyringFromEnv(secrets);
    const user = await db.user.findFirstOrThrow({ where: { role: "client" } });
    const portalApi = appRouter.createCaller({
      db,
      keyring,
      config: { AGENT_RECLAIM_GRACE_SECONDS: 180, AGENT_WATCHDOG_TIMEOUT_SECONDS: 720 },
      user: { id: user.id, email: user.email, name: user.name, role: "client", tenantId: user.tenantId },
      impersonatedBy: null,
      ip: null,
      live: null,
    });

    // Enough incompressible data that the backup takes a few seconds.
    const source = join(dir, "source");
    await mkdir(source);
    for (let i = 0; i < 6; i++) await writeFile(join(source, `part-${i}.bin`), randomBytes(48 * 1024 * 1024));
    const home = join(dir, "agent");
    const service = startAgentService({ E3_AGENT_CONFIG: join(home, "agent.conf"), E3_AGENT_POLL_SECONDS: "0.5" });
    agent = service.child;
    const pageFile = join(home, "state", "status-page.json");
    const { url, port } = await waitFor("the status page's address", () =>
      readFile(pageFile, "utf8").then(
        (text) => JSON.parse(text) as { url: string; port: number },
        () => undefined,
      ),
    );
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);

    // Without the token, or under another host name, nothing is served.
    expect((await fetch(`http://127.0.0.1:${port}/api/status`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/?token=${"x".repeat(43)}`)).status).toBe(401);
    const token = new URL(url).searchParams.get("token") ?? "";
    // fetch() will not send another Host header; node:http will (what a DNS-rebinding page's requests look like).
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      const request = httpRequest(
        {
          host: "127.0.0.1",
          port,
          path: "/api/status",
          headers: { authorization: `Bearer ${token}`, host: `attacker.example:${port}` },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      request.on("error", reject);
      request.end();
    });
    expect(rebound).toBe(421);

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    await page.goto(url);
    expect(new URL(page.url()).search).toBe("");

    const { token: enrollmentToken } = await portalApi.agents.createEnrollmentToken({ label: "status page" });
    await page.getByLabel("Portal address").fill(portal.url);
    await page.getByLabel("Enrollment token").fill(enrollmentToken);
    await page.getByRole("button", { name: "Enroll" }).click();
    await page.getByText("connected", { exact: true }).waitFor({ timeout: 30_000 });
    const agentId = (JSON.parse(await readFile(join(home, "agent.conf"), "utf8")) as { agentId: string }).agentId;
    await page.getByText(agentId).waitFor();

    const repository = join(dir, "repository");
    const job = (await portalApi.jobs.create({
      name: "Status page job",
      agentId,
      engine: "backup",
      sourcePaths: [source],
      destination: { type: "local", path: repository },
      schedule: { kind: "manual" },
    })) as { id: string };
    const runNow = page.getByRole("button", { name: "Run now" });
    await runNow.waitFor({ timeout: 15_000 });
    await runNow.click();
    await page.getByText("Status page job will run now.").waitFor();

    const progress = page.getByTestId("progress");
    await progress.waitFor({ timeout: 60_000 });
    await waitFor("progress with bytes done", async () =>
      /: \d+ % · [\d.]+ (KiB|MiB|GiB)/.test(((await progress.textContent()) ?? "").replace(/\s+/g, " ")),
    );
    await mkdir(screenshotsDir, { recursive: true });
    await page.screenshot({ path: join(screenshotsDir, "agent-status-page-run.png"), fullPage: true });
    expect(await page.getByRole("progressbar").getAttribute("aria-valuenow")).toMatch(/^\d+$/);

    const run = await waitFor(
      "the run to succeed",
      async () => {
        const found = await db.run.findFirst({ where: { jobId: job.id } });
        return found?.status === "success" ? found : undefined;
      },
      180_000,
    );
    expect(run.trigger).toBe("manual");
    await page.getByText("Idle: waiting for the next scheduled run.").waitFor({ timeout: 15_000 });
    await page.locator("td", { hasText: "Status page job" }).first().waitFor({ timeout: 15_000 });
    await page.locator("tbody .badge", { hasText: "success" }).first().waitFor();
    await page.screenshot({ path: join(screenshotsDir, "agent-status-page-idle.png"), fullPage: true });
    expect(problems).toEqual([]);

    const sealed = (await db.job.findUniqueOrThrow({ where: { id: job.id } })).repoPasswordEnc ?? "";
    const check = await exec("restic", ["--no-cache", "-r", repository, "check"], {
      env: { ...process.env, RESTIC_PASSWORD: openSecret(keyring, sealed, "repo_password_enc") },
    });
    expect(check.stdout).toMatch(/no errors were found/);
    expect(service.output()).toMatch(/enrolled as agent .* from the status page/);
  });
});
