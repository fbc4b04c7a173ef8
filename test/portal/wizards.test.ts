import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, type Database } from "@e3/db";
import { createTestDatabase } from "@e3/db/testing";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentCommand, runAgent } from "../../apps/agent/test/agent-cli.ts";
import { bucketName, removeBucket, s3TestEnv, testBackend } from "../../packages/engine/test/storage-s3-env.ts";
import { rclone } from "../../packages/engine/test/sync-fixtures.ts";
import { seriousAxeViolations } from "./axe.ts";
import { portalHarness, type RunningPortal } from "./portal.ts";
import { launchChromium, screenshotsDir, seededCredentials, signIn } from "./session.ts";

// The client's wizards end to end with real parts: the production build on PostgreSQL, versitygw, Debian's Chromium
// and a real e3-backup-agent process (the built executable when E3_AGENT_EXECUTABLE names it, as `npm test` does).
// One portal and one agent serve every case, in order: the client enrolls the agent with the command the Agents
// page's dialog shows and sees it appear live; creates a backup job through the job wizard (Test connection, create
// bucket, a typed source with a pattern preview from the agent's own listing, schedule, retention preview, review),
// watches its run finish in the live view, and restores two selected files to another folder byte-identically;
// creates a sync job (mirror to S3 with a bandwidth limit) whose run the live view follows through its progress,
// and finds the bucket identical to the folder (rclone check --download); an admin starts full maintenance from the
// job's page and sees its run succeed; another tenant's run stays out of reach. Every page is checked by axe and
// photographed in light and dark mode.

const { startPortal, stopGracefully } = portalHarness();
const s3 = s3TestEnv();
const dir = await mkdtemp(join(tmpdir(), "e3-wizards-"));
await chmod(dir, 0o755);

/** Run last to first when the file is done (contexts before the portal, the portal before its database). */
const teardown: (() => Promise<unknown>)[] = [];
let browser: Browser;
let portal: RunningPortal;
let db: Database;
let context: BrowserContext;
let page: Page;
const requests: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  await mkdir(screenshotsDir, { recursive: true });
  browser = await launchChromium();
  const database = await createTestDatabase("wizards");
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

const agents: ChildProcess[] = [];
let agentOutput = () => "";

function startAgent(env: Record<string, string>) {
  const command = agentCommand();
  const child = spawn(command.file, [...command.args, "run"], { env: { ...process.env, ...env } });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  agents.push(child);
  agentOutput = () => output;
}

type TrpcAnswer = { status: number; data: unknown; error: { message: string; code: string } | null };

/** A tRPC call from inside the page, with the signed-in user's cookies (what the portal's own client does). */
async function trpc(on: Page, kind: "query" | "mutation", path: string, input: unknown): Promise<TrpcAnswer> {
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
const slow = { timeout: 30_000, interval: 100 };
const shots: string[] = [];
/** Serious and critical axe findings per page; asserted empty at the end so one run reports every page's. */
const axeFindings: string[] = [];
async function photograph(on: Page, name: string, scheme: "light" | "dark") {
  await on.screenshot({ path: join(screenshotsDir, `${name}-${scheme}.png`), fullPage: true });
  shots.push(`${name}-${scheme}`);
  for (const finding of await seriousAxeViolations(on)) axeFindings.push(`${name} (${scheme}): ${finding}`);
}

/** The page as it stands in light and then dark mode (the theme follows the emulated system setting live). */
async function photographBoth(on: Page, name: string) {
  for (const scheme of ["light", "dark"] as const) {
    await on.emulateMedia({ colorScheme: scheme });
    await on.waitForFunction(`document.documentElement.classList.contains("dark") === ${scheme === "dark"}`);
    await photograph(on, name, scheme);
  }
  await on.emulateMedia({ colorScheme: "light" });
}

/** What the run page's live view showed, one entry per change (the elapsed clock left out: it ticks every second). */
type LiveState = {
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
async function recordLiveView(on: Page) {
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
async function watchToTheEnd(on: Page, timeoutMs = 120_000): Promise<LiveState[]> {
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

const percentOf = (state: LiveState) => Number(/^(\d+) %$/.exec(state.percent ?? "")?.[1] ?? Number.NaN);

async function foreignRun() {
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
async function fillS3(bucket: string, prefix: string) {
  await page.getByLabel("Endpoint").fill(s3.endpoint);
  await page.getByLabel("Region").fill(s3.region);
  await page.getByLabel("Access key id").fill(s3.accessKeyId);
  await page.getByLabel("Secret access key").fill(s3.secretAccessKey);
  await page.locator('input[name="destination.bucket"]').fill(bucket);
  await page.getByLabel("Folder in the bucket (prefix)").fill(prefix);
}

function bucketCleanup(bucket: string) {
  const s3Client = testBackend(s3, { bucket }).client;
  teardown.push(async () => {
    await removeBucket(s3Client, bucket);
    s3Client.destroy();
  });
}

const source = join(dir, "documents");
const backupBucket = bucketName("wizard-e2e");

describe("job and restore wizards in Chromium", () => {
  it("enrolls the agent with the Agents page's command and shows it live when it first polls", {
    timeout: 120_000,
  }, async () => {
    await page.goto(`${portal.url}/agents`);
    await page.getByRole("button", { name: "Enroll a machine" }).click();
    const dialog = page.getByRole("dialog", { name: "Enroll a machine" });
    await dialog.getByLabel("Label").fill("wizard e2e");
    await dialog.getByRole("button", { name: "Create enrollment token" }).click();
    const commands = (await dialog.getByTestId("enroll-command").textContent({ timeout: 20_000 })) ?? "";
    // What the dialog tells the user to run, run as it says: `enroll --server … --token …`, then `run`.
    const [enrollLine, runLine] = commands.split("\n");
    expect(enrollLine).toMatch(new RegExp(`^e3-backup-agent enroll --server ${portal.url} --token e3enr_\\S+$`));
    expect(runLine).toBe("e3-backup-agent run");
    expect(await dialog.getByTestId("enroll-status").textContent()).toMatch(/Waiting for the agent to enroll/);

    const home = await mkdtemp(join(dir, "agent-"));
    const agentEnv = {
      E3_AGENT_CONFIG: join(home, "agent.conf"),
      E3_AGENT_STATE: join(home, "state"),
      E3_AGENT_POLL_SECONDS: "0.5",
    };
    const enrolled = await runAgent(enrollLine!.split(" ").slice(1), agentEnv);
    expect(enrolled.status, enrolled.stderr).toBe(0);
    startAgent(agentEnv);
    // The open dialog notices by itself (enrolling counts as the agent's first contact).
    await expect
      .poll(() => dialog.getByTestId("enroll-status").textContent(), { ...slow, message: agentOutput() })
      .toMatch(/\) enrolled and online\.$/);
    await photographBoth(page, "agents-enrolled");
    await dialog.getByRole("button", { name: "Done" }).click();
    // The list behind the dialog has it too, online, without a reload.
    const agent = await db.agent.findFirstOrThrow({ where: { revokedAt: null } });
    await expect.poll(() => page.getByTestId(`agent-${agent.id}`).textContent(), slow).toMatch(/Online/);
  });

  it("creates a backup job through the wizard, watches its run finish live, and restores two files byte-identically", {
    timeout: 300_000,
  }, async () => {
    await mkdir(join(source, "letters"), { recursive: true });
    await writeFile(join(source, "letters", "bank.txt"), "dear bank\n");
    await writeFile(join(source, "report.bin"), randomBytes(700_000));
    await writeFile(join(source, "notes.md"), "# notes\n");
    await writeFile(join(source, "scratch.tmp"), "temporary\n");
    const bucket = backupBucket;

    // Step 1: mode, agent, destination — with Test connection and Create bucket against the real S3 server.
    await page.goto(`${portal.url}/jobs`);
    await expect.poll(() => page.getByText("No jobs yet").count(), { ...slow, message: pageErrors.join("\n") }).toBe(1);
    await photograph(page, "jobs-empty", "light");
    await page.getByRole("link", { name: "New job" }).click();
    await page.waitForURL(`${portal.url}/jobs/new`);
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(() => page.evaluate('document.activeElement?.getAttribute("name")'), slow).toBe("name");
    expect(await page.getByText("is required").count()).toBeGreaterThan(0);
    await photograph(page, "job-wizard-errors", "light");

    await page.getByLabel("Job name").fill("Documents");
    await expect.poll(() => page.locator('select[name="agentId"] option').count(), slow).toBeGreaterThan(1);
    await page.locator('select[name="agentId"]').selectOption({ index: 1 });
    await fillS3(bucket, "office");
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect.poll(() => page.getByTestId("connection-result").textContent(), slow).toContain("does not exist yet");
    await page.getByRole("button", { name: "Create bucket" }).click();
    await expect.poll(() => page.getByText(`Created ${bucket}.`).count(), slow).toBe(1);
    bucketCleanup(bucket);
    await page.getByRole("button", { name: "List my buckets" }).click();
    await page.getByLabel("Search buckets").fill("wizard-e2e");
    await expect.poll(() => page.getByRole("list", { name: "Buckets" }).getByText(bucket).count(), slow).toBe(1);
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect.poll(() => page.getByTestId("connection-result").textContent(), slow).toContain("is ready");
    await photograph(page, "job-wizard-destination", "light");
    await page.getByRole("button", { name: "Next" }).click();

    // Step 2: the source, typed; the agent lists it and the exclude pattern's preview comes from that listing.
    await page.getByLabel("Type a path").fill(source);
    await page.getByLabel("Type a path").press("Enter");
    await expect
      .poll(
        () =>
          page
            .getByRole("list", { name: `Contents of ${source}` })
            .getByText("notes.md")
            .count(),
        {
          timeout: 20_000,
        },
      )
      .toBe(1);
    await page.getByLabel("Exclude").fill("*.tmp");
    await expect
      .poll(() => page.getByTestId("glob-preview-summary").textContent())
      .toBe("In this folder the patterns keep 3 of 4 entries.");
    expect(await page.getByRole("list", { name: "Left out by the patterns" }).textContent()).toContain("scratch.tmp");
    await photograph(page, "job-wizard-source", "light");
    await page.getByRole("button", { name: "Next" }).click();

    // Step 3: the schedule with its summary and the scheduler's next five slots.
    await expect.poll(() => page.getByTestId("schedule-summary").textContent(), slow).toMatch(/^Every day at 02:00 \(/);
    await expect.poll(() => page.getByTestId("next-runs").locator("li").count(), slow).toBe(5);
    await photograph(page, "job-wizard-schedule", "light");
    await page.getByRole("button", { name: "Next" }).click();

    // Step 4: smart retention by default, previewed over a simulated year of the schedule.
    await expect
      .poll(() => page.getByTestId("retention-verdict").textContent(), slow)
      .toContain("After a year of this schedule");
    await photograph(page, "job-wizard-retention", "light");
    await page.getByRole("button", { name: "Next" }).click();

    // Step 5: review, the JSON with the keys masked, then save.
    await page.getByRole("button", { name: "Show JSON" }).click();
    const json = (await page.getByTestId("job-json").textContent()) ?? "";
    expect(json).toContain(bucket);
    expect(json).not.toContain(s3.secretAccessKey);
    await photograph(page, "job-wizard-review", "light");
    await page.getByRole("button", { name: "Create job" }).click();
    await page.waitForURL(/\/jobs\?saved=/);
    await expect.poll(() => page.getByTestId("job-row").count(), slow).toBe(1);
    await photograph(page, "jobs", "light");

    // Run it: "Run now" goes to the run's live view, which follows the run to its end without a reload. The agent is
    // held (SIGSTOP) until the page shows the run waiting for it, so the whole run is seen whatever the machine's speed.
    const agentProcess = agents[0]!;
    agentProcess.kill("SIGSTOP");
    try {
      await page.getByRole("button", { name: /^Run now\W+Documents$/ }).click();
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
      await recordLiveView(page);
      await expect.poll(() => page.getByTestId("live-phase").textContent(), slow).toBe("Waiting for the agent");
      await photographBoth(page, "run-queued");
    } finally {
      agentProcess.kill("SIGCONT");
    }
    const states = await watchToTheEnd(page);
    const first = states.find((state) => state.heading !== null)!;
    const last = states.at(-1)!;
    // It was seen waiting for the agent, with the note that closing the page is safe...
    expect(first, JSON.stringify(states, null, 1)).toMatchObject({
      title: "DocumentsQueued",
      heading: "Live progress",
      phase: "Waiting for the agent",
      safeToClose: true,
    });
    // ...and ends as a success with the whole of the source counted (4 files less the excluded one).
    expect(last, JSON.stringify(states, null, 1)).toMatchObject({
      title: "DocumentsSuccess",
      phase: "Finished",
      percent: "100 %",
      files: "3 of 3",
      safeToClose: false,
    });
    expect(last.bytes).toMatch(/^(\S+ \S+) of \1$/);
    const runId = page.url().split("/").at(-1)!;
    expect(await db.run.findUniqueOrThrow({ where: { id: runId } }), agentOutput()).toMatchObject({
      status: "success",
    });
    await photographBoth(page, "run-backup-finished");

    // Restore two files: find one by name and pick its version, check a second in the tree by keyboard.
    const job = await db.job.findFirstOrThrow({ where: { name: "Documents" } });
    await page.goto(`${portal.url}/restore?jobId=${job.id}`);
    await expect.poll(() => page.getByTestId("snapshot-row").count(), slow).toBe(1);
    await photograph(page, "restore-snapshots", "light");
    await page.getByRole("tab", { name: "Search for a file" }).click();
    await page.getByLabel("File or folder name").fill("bank");
    await page.getByLabel("File or folder name").press("Enter");
    const bankPath = `${source}/letters/bank.txt`;
    await page.getByRole("button", { name: new RegExp(bankPath) }).click({ timeout: 20_000 });
    await page.getByRole("button", { name: "Restore this version" }).click({ timeout: 20_000 });
    // The tree opens at the found file's folder with it checked; the other file is two levels up.
    await page.getByRole("button", { name: "documents", exact: true }).click();
    const notes = page.getByRole("treeitem", { name: "notes.md" });
    await notes.waitFor({ timeout: 20_000 });
    await page.getByRole("treeitem", { name: "letters" }).focus();
    await page.keyboard.press("ArrowRight");
    await expect
      .poll(() => page.getByRole("treeitem", { name: "bank.txt" }).getAttribute("aria-checked"), slow)
      .toBe("true");
    await notes.focus();
    await page.keyboard.press("Space");
    expect(await notes.getAttribute("aria-checked")).toBe("true");
    await expect.poll(() => page.getByTestId("selection-total").textContent(), slow).toContain("2 files selected");
    await photograph(page, "restore-tree", "light");
    await page.getByRole("button", { name: "Next" }).click();
    const target = join(dir, "restored");
    await page.locator('input[name="targetPath"]').fill(target);
    await photograph(page, "restore-destination", "light");
    await page.getByRole("button", { name: "Start restore" }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    await recordLiveView(page);
    const restored = (await watchToTheEnd(page)).at(-1)!;
    expect(restored, agentOutput()).toMatchObject({ title: "DocumentsSuccess", percent: "100 %" });
    expect(await readFile(join(target, bankPath))).toEqual(await readFile(bankPath));
    expect(await readFile(join(target, source, "notes.md"))).toEqual(await readFile(join(source, "notes.md")));
    // Only the two chosen files came back.
    await expect(readFile(join(target, source, "report.bin"))).rejects.toThrow(/ENOENT/);
  });

  it("creates a sync job through the wizard, follows its run's progress live, and mirrors the folder to S3 exactly", {
    timeout: 300_000,
  }, async () => {
    // Enough data that the bandwidth limit (512 KiB/s) keeps the run going through several progress reports (5 s).
    const photos = join(dir, "photos");
    await mkdir(join(photos, "2026", "summer"), { recursive: true });
    await writeFile(join(photos, "2026", "summer", "beach.raw"), randomBytes(5 * 1024 * 1024));
    await writeFile(join(photos, "2026", "summer", "beach.jpg"), randomBytes(300_000));
    await writeFile(join(photos, "index.txt"), "beach\n");
    await writeFile(join(photos, "empty.txt"), "");
    const bucket = bucketName("wizard-sync");
    bucketCleanup(bucket);

    await page.goto(`${portal.url}/jobs/new`);
    await page.getByLabel("Job name").fill("Photos mirror");
    await page.getByRole("radio", { name: "Sync (a plain mirror)" }).click();
    await page.getByRole("radio", { name: "Mirror: delete at the destination too" }).click();
    await expect.poll(() => page.locator('select[name="agentId"] option').count(), slow).toBeGreaterThan(1);
    await page.locator('select[name="agentId"]').selectOption({ index: 1 });
    // A bucket that does not exist yet: the job's default creates it on the first run.
    await fillS3(bucket, "phone");
    await photographBoth(page, "job-wizard-sync");
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByLabel("Type a path").fill(photos);
    await page.getByLabel("Type a path").press("Enter");
    await expect
      .poll(
        () =>
          page
            .getByRole("list", { name: `Contents of ${photos}` })
            .getByText("index.txt")
            .count(),
        slow,
      )
      .toBe(1);
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(() => page.getByTestId("next-runs").locator("li").count(), slow).toBe(5);
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByLabel("Bandwidth limit (KiB/s)").fill("512");
    await photographBoth(page, "job-wizard-sync-policy");
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("button", { name: "Create job" }).click();
    await page.waitForURL(/\/jobs\?saved=/);
    await expect.poll(() => page.getByTestId("job-row").count(), slow).toBe(2);

    await page.getByRole("button", { name: /^Run now\W+Photos mirror$/ }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    await recordLiveView(page);
    // Mid-run, photographed while it syncs.
    await expect
      .poll(() => page.getByTestId("live-phase").textContent(), { ...slow, message: agentOutput() })
      .toBe("Syncing");
    await photographBoth(page, "run-sync-live");
    const states = await watchToTheEnd(page);
    const story = JSON.stringify(states, null, 1);
    // Progress the way it was seen: syncing, part of the bytes done of a known total at a measured speed...
    const midway = states.filter(
      (state) => state.heading === "Live progress" && state.phase === "Syncing" && percentOf(state) < 100,
    );
    expect(midway.length, story).toBeGreaterThan(0);
    const moving = midway.find((state) => /^\S+ \S+ of 5\.\d+ MiB$/.test(state.bytes ?? ""));
    expect(moving, story).toBeDefined();
    expect(moving!.speed, story).toMatch(/\/s$/);
    expect(moving!.currentFile, story).toBe("2026/summer/beach.raw");
    expect(moving!.safeToClose).toBe(true);
    // ...then the outcome, a success.
    expect(states.at(-1), story).toMatchObject({
      title: "Photos mirrorSuccess",
      heading: "Outcome",
      phase: "Finished",
      percent: "100 %",
      safeToClose: false,
    });

    // The bucket holds exactly the folder, byte for byte: rclone reads both sides and compares the contents.
    const check = rclone(["check", "--download", photos, `e3:${bucket}/phone`]);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stderr).toMatch(/0 differences found/);
    expect(check.stderr).toMatch(/4 matching files/);
  });

  it("lets an admin run full maintenance from the job's page and see the agent's run succeed", {
    timeout: 240_000,
  }, async () => {
    const job = await db.job.findFirstOrThrow({ where: { name: "Documents" } });
    const admin = await browser.newContext({ colorScheme: "light", viewport: { width: 1280, height: 900 } });
    teardown.push(() => admin.close());
    const adminPage = await admin.newPage();
    adminPage.on("request", (request) => requests.push(request.url()));
    await signIn(adminPage, portal.url, seededCredentials(portal.output(), "admin"));
    await adminPage.goto(`${portal.url}/admin/jobs/${job.id}`);
    await adminPage.getByRole("button", { name: "Full maintenance" }).click();
    await adminPage.getByRole("button", { name: "Start full maintenance" }).click();
    await expect.poll(() => adminPage.getByText("Maintenance queued for the agent").count(), slow).toBe(1);
    const run = await db.run.findFirstOrThrow({ where: { jobId: job.id, runType: "maintenance_full" } });
    // The job page's run list follows the run to its end (it refreshes by itself).
    const row = adminPage.locator(`[data-run-id="${run.id}"]`);
    await expect
      .poll(() => row.textContent(), { timeout: 120_000, interval: 250, message: agentOutput() })
      .toMatch(/Maintenance \(full\).*Success/);
    // The banner followed the run too: the result instead of "queued".
    await expect.poll(() => adminPage.locator('[data-run-status="success"]').textContent(), slow).toMatch(/finished/);
    expect(await adminPage.getByText("Maintenance queued for the agent").count()).toBe(0);
    await expect
      .poll(() => adminPage.locator('[data-command-type="maintenance_full"]').textContent(), slow)
      .toMatch(/Completed|Done|Success/i);
    await photographBoth(adminPage, "admin-job-maintenance-done");
    // The run's own page in the admin side says what the maintenance did.
    await adminPage.getByRole("link", { name: "Open the run" }).click();
    await adminPage.waitForURL(`${portal.url}/admin/runs/${run.id}`);
    await expect.poll(() => adminPage.getByText(/^full maintenance: .*, check found no errors$/).count(), slow).toBe(1);
    await photographBoth(adminPage, "admin-run-maintenance");
    expect(await db.run.findUniqueOrThrow({ where: { id: run.id } })).toMatchObject({ status: "success" });
  });

  it("keeps another tenant's run out of reach, and shows the client's pages in dark mode", {
    timeout: 180_000,
  }, async () => {
    const job = await db.job.findFirstOrThrow({ where: { name: "Documents" } });
    const foreign = await foreignRun();
    const refused = await trpc(page, "query", "runs.get", { runId: foreign.id });
    expect(refused.error?.code).toBe("NOT_FOUND");
    await page.goto(`${portal.url}/runs/${foreign.id}`);
    expect(await page.content()).not.toContain("Other tenant's secret job");

    // Dark mode: the same pages, photographed and checked.
    const dark = await browser.newContext({ colorScheme: "dark", viewport: { width: 1280, height: 900 } });
    teardown.push(() => dark.close());
    const darkPage = await dark.newPage();
    darkPage.on("request", (request) => requests.push(request.url()));
    await signIn(darkPage, portal.url, seededCredentials(portal.output(), "client"));
    await darkPage.goto(`${portal.url}/jobs`);
    await expect.poll(() => darkPage.getByTestId("job-row").count(), slow).toBe(2);
    await photograph(darkPage, "jobs", "dark");
    await darkPage.goto(`${portal.url}/jobs/${job.id}/edit`);
    await expect.poll(() => darkPage.getByLabel("Job name").inputValue(), slow).toBe("Documents");
    await photograph(darkPage, "job-wizard-edit", "dark");
    for (const step of ["source", "schedule", "retention", "review"]) {
      await darkPage.getByRole("button", { name: "Next" }).click();
      if (step === "retention") {
        await expect
          .poll(() => darkPage.getByTestId("retention-verdict").textContent(), slow)
          .toContain("Of the 1 existing snapshots");
      }
      await photograph(darkPage, `job-wizard-${step}`, "dark");
    }
    await darkPage.goto(`${portal.url}/restore?jobId=${job.id}`);
    await expect.poll(() => darkPage.getByTestId("snapshot-row").count(), slow).toBe(1);
    await photograph(darkPage, "restore-snapshots", "dark");

    // Nothing was fetched from any host but the portal.
    expect(requests.filter((url) => !url.startsWith(portal.url))).toEqual([]);
    expect(shots.length).toBeGreaterThanOrEqual(34);
    expect(axeFindings).toEqual([]);
  });
});
