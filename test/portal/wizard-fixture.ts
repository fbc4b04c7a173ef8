import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, type Database } from "@e3/db";
import { createTestDatabase } from "@e3/db/testing";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { runAgent, startAgentService } from "../../apps/agent/test/agent-cli.ts";
import { removeBucket, s3TestEnv, testBackend } from "../../packages/engine/test/storage-s3-env.ts";
import { seriousAxeViolations } from "./axe.ts";
import { portalHarness, type RunningPortal } from "./portal.ts";
import { launchChromium, screenshotsDir, seededCredentials, signIn } from "./session.ts";

// The fixture of the wizard suites (wizards-*.test.ts), with real parts: the production build on PostgreSQL,
// versitygw, Debian's Chromium and a real e3-backup-agent process (the built executable when E3_AGENT_EXECUTABLE names
// it, as `npm test` does). setUpWizards() gives a test file one portal, one database and one signed-in client page for
// all its cases, in order; enrollAgent() runs the agent's `enroll` and then `run` as the Agents page tells the user.
// Every page is photographed and checked by axe (photograph, photographBoth); the findings and every request the
// pages sent are collected so that a file's last case asserts them all at once.

const { startPortal, stopGracefully } = portalHarness();
export const s3 = s3TestEnv();
export const dir = await mkdtemp(join(tmpdir(), "e3-wizards-"));
await chmod(dir, 0o755);

/** Run last to first when the file is done (contexts before the portal, the portal before its database). */
export const teardown: (() => Promise<unknown>)[] = [];
export let browser: Browser;
export let portal: RunningPortal;
export let db: Database;
export let context: BrowserContext;
export let page: Page;
export const requests: string[] = [];
export const pageErrors: string[] = [];

/**
 * Registers the file's start-up and teardown: a database named after `label`, the portal on it, Chromium with the
 * seeded client signed in on `page`; with `enroll`, an agent enrolled with a fresh token and running (the suites
 * that test the enrollment itself enroll through the Agents page instead).
 */
export function setUpWizards(label: string, options: { enroll?: boolean } = {}) {
  beforeAll(async () => {
    await mkdir(screenshotsDir, { recursive: true });
    browser = await launchChromium();
    const database = await createTestDatabase(label);
    teardown.push(database.drop);
    portal = await startPortal(
      {
        DATABASE_URL: database.url,
        E3_SECRET_KEY: randomBytes(32).toString("base64"),
        E3_AUTH_SECRET: randomBytes(32).toString("base64"),
      },
      { keep: true },
    );
    teardown.push(() => stopGracefully(portal.child));
    db = createDatabase(database.url, { poolSize: 2 });
    teardown.push(() => db.$disconnect());
    context = await browser.newContext({ colorScheme: "light", viewport: { width: 1280, height: 900 } });
    teardown.push(() => context.close());
    page = await context.newPage();
    page.on("request", (request) => requests.push(request.url()));
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    await signIn(page, portal.url, seededCredentials(portal.output(), "client"));
    if (options.enroll) {
      const created = await trpc(page, "mutation", "agents.createEnrollmentToken", { label });
      const { token } = created.data as { token: string };
      await enrollAgent(["enroll", "--server", portal.url, "--token", token]);
    }
  }, 180_000);

  afterAll(async () => {
    // Agents stop before the portal, whose graceful stop would otherwise wait for their keep-alive connections.
    for (const child of agents.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const closed = new Promise((resolve) => child.once("close", resolve));
        child.kill("SIGKILL");
        await closed;
      }
    }
    for (const step of teardown.reverse()) await step().catch((error: unknown) => console.error(error));
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);
}

export const agents: ChildProcess[] = [];
export let agentOutput = () => "";

function startAgent(env: Record<string, string>) {
  const { child, output } = startAgentService(env);
  agents.push(child);
  agentOutput = output;
}

/** Runs the agent's `enroll` with `args` (as the Agents page's command has them) in a home of its own, then `run`. */
export async function enrollAgent(args: string[]) {
  const home = await mkdtemp(join(dir, "agent-"));
  const agentEnv = {
    E3_AGENT_CONFIG: join(home, "agent.conf"),
    E3_AGENT_STATE: join(home, "state"),
    E3_AGENT_POLL_SECONDS: "0.5",
  };
  const enrolled = await runAgent(args, agentEnv);
  expect(enrolled.status, enrolled.stderr).toBe(0);
  startAgent(agentEnv);
}

type TrpcAnswer = { status: number; data: unknown; error: { message: string; code: string } | null };

/** A tRPC call from inside the page, with the signed-in user's cookies (what the portal's own client does). */
export async function trpc(on: Page, kind: "query" | "mutation", path: string, input: unknown): Promise<TrpcAnswer> {
  return on.evaluate(
    async ({ kind, path, input }) => {
      const body = JSON.stringify({ json: input });
      const response =
        kind === "query"
          ? await fetch(`/api/trpc/${path}?input=${encodeURIComponent(body)}`)
          : await fetch(`/api/trpc/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
      const answer = (await response.json()) as {
        result?: { data?: { json?: unknown } };
        error?: { json?: { message: string; data?: { code: string } } };
      };
      return {
        status: response.status,
        data: answer.result?.data?.json ?? null,
        error: answer.error?.json
          ? { message: answer.error.json.message, code: answer.error.json.data?.code ?? "" }
          : null,
      };
    },
    { kind, path, input },
  );
}

/** Pages wait on the agent and the server; vitest's default poll gives up after 1 s. */
export const slow = { timeout: 30_000, interval: 100 };
export const shots: string[] = [];
/** Serious and critical axe findings per page; asserted empty at the end so one run reports every page's. */
export const axeFindings: string[] = [];
export async function photograph(on: Page, name: string, scheme: "light" | "dark") {
  await on.screenshot({ path: join(screenshotsDir, `${name}-${scheme}.png`), fullPage: true });
  shots.push(`${name}-${scheme}`);
  for (const finding of await seriousAxeViolations(on)) axeFindings.push(`${name} (${scheme}): ${finding}`);
}

/** The page as it stands in light and then dark mode (the theme follows the emulated system setting live). */
export async function photographBoth(on: Page, name: string) {
  for (const scheme of ["light", "dark"] as const) {
    await on.emulateMedia({ colorScheme: scheme });
    await on.waitForFunction(`document.documentElement.classList.contains("dark") === ${scheme === "dark"}`);
    await photograph(on, name, scheme);
  }
  await on.emulateMedia({ colorScheme: "light" });
}

/** What the run page's live view showed, one entry per change (the elapsed clock left out: it ticks every second). */
export type LiveState = {
  title: string | null;
  heading: string | null;
  phase: string | null;
  percent: string | null;
  files: string | null;
  bytes: string | null;
  speed: string | null;
  currentFile: string | null;
  safeToClose: boolean;
};

/**
 * Records every change of the live view from now on (a MutationObserver in the page): the states a person watching
 * would have seen. A full page load would lose the recorder, so a recording that reaches the end also proves the
 * page updated by itself.
 */
export async function recordLiveView(on: Page) {
  await on.evaluate(`(() => {
    const log = [];
    window.__e3LiveView = log;
    const text = (id) => document.querySelector('[data-testid="' + id + '"]')?.textContent ?? null;
    const read = () => {
      const state = {
        title: document.querySelector("h1")?.textContent ?? null,
        heading: document.getElementById("progress-heading")?.textContent ?? null,
        phase: text("live-phase"),
        percent: text("live-percent"),
        files: text("live-files"),
        bytes: text("live-bytes"),
        speed: text("live-speed"),
        currentFile: text("live-current-file"),
        safeToClose: document.querySelector('[data-testid="safe-to-close"]') !== null,
      };
      if (JSON.stringify(log[log.length - 1]) !== JSON.stringify(state)) log.push(state);
    };
    read();
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
}

/** Waits until the live view shows the run's outcome, and returns every state it went through. */
export async function watchToTheEnd(on: Page, timeoutMs = 120_000): Promise<LiveState[]> {
  const read = () => on.evaluate("window.__e3LiveView") as Promise<LiveState[]>;
  await expect
    .poll(async () => (await read()).at(-1)?.heading, {
      timeout: timeoutMs,
      interval: 250,
      message: `the run did not finish in the live view\n${agentOutput()}\n${pageErrors.join("\n")}`,
    })
    .toBe("Outcome");
  return read();
}

export const percentOf = (state: LiveState) => Number(/^(\d+) %$/.exec(state.percent ?? "")?.[1] ?? Number.NaN);

export async function foreignRun() {
  const tenant = await db.tenant.create({
    data: { name: "Other Client", slug: `other-${randomBytes(3).toString("hex")}` },
  });
  const agent = await db.agent.create({
    data: { tenantId: tenant.id, name: "other-pc", hostname: "other-pc", tokenHash: randomBytes(16).toString("hex") },
  });
  const job = await db.job.create({
    data: {
      tenantId: tenant.id,
      agentId: agent.id,
      name: "Other tenant's secret job",
      engine: "backup",
      sourcePaths: ["/srv"],
      destType: "local",
      destLocalPath: "/backup",
      scheduleJson: { kind: "manual" },
    },
  });
  return db.run.create({
    data: { tenantId: tenant.id, jobId: job.id, agentId: agent.id, engine: "backup", destType: "local" },
  });
}

/** Step 1's S3 fields, filled with the test server's. */
export async function fillS3(bucket: string, prefix: string) {
  await page.getByLabel("Endpoint").fill(s3.endpoint);
  await page.getByLabel("Region").fill(s3.region);
  await page.getByLabel("Access key id").fill(s3.accessKeyId);
  await page.getByLabel("Secret access key").fill(s3.secretAccessKey);
  await page.locator('input[name="destination.bucket"]').fill(bucket);
  await page.getByLabel("Folder in the bucket (prefix)").fill(prefix);
}

export function bucketCleanup(bucket: string) {
  const s3Client = testBackend(s3, { bucket }).client;
  teardown.push(async () => {
    await removeBucket(s3Client, bucket);
    s3Client.destroy();
  });
}
