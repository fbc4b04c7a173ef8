import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, type Database } from "@e3/db";
import { createTestDatabase } from "@e3/db/testing";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { repositoryRoot, runAgent } from "../../apps/agent/test/agent-cli.ts";
import { bucketName, removeBucket, s3TestEnv, testBackend } from "../../packages/engine/test/storage-s3-env.ts";
import { seriousAxeViolations } from "./axe.ts";
import { portalHarness } from "./portal.ts";
import { launchChromium, screenshotsDir, seededCredentials, signIn } from "./session.ts";

// The client's wizards end to end with real parts: the production build on PostgreSQL, versitygw, Debian's Chromium
// and a real e3-backup-agent process. A client signs in, enrolls the agent, creates a backup job through the job
// wizard (Test connection, create bucket, a typed source with a pattern preview from the agent's own listing,
// schedule, retention preview, review), runs it, restores two selected files to another folder through the restore
// wizard and finds them byte-identical; another tenant's run stays out of reach. Every page is checked by axe and
// photographed in light and dark mode.

const { startPortal, cleanups } = portalHarness();
const s3 = s3TestEnv();
const dir = await mkdtemp(join(tmpdir(), "e3-wizards-"));
await chmod(dir, 0o755);
afterAll(() => rm(dir, { recursive: true, force: true }));

let browser: Browser;
beforeAll(async () => {
  await mkdir(screenshotsDir, { recursive: true });
  browser = await launchChromium();
});
afterAll(() => browser?.close());

// Agents stop before the portal, whose graceful stop would otherwise wait for their keep-alive connections.
const agents: ChildProcess[] = [];
afterEach(async () => {
  for (const child of agents.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((resolve) => child.once("close", resolve));
      child.kill("SIGKILL");
      await closed;
    }
  }
});

function startAgent(env: Record<string, string>): { output: () => string } {
  const child = spawn(process.execPath, [join(repositoryRoot, "apps", "agent", "bin", "e3-backup-agent.mjs"), "run"], {
    env: { ...process.env, ...env },
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  agents.push(child);
  return { output: () => output };
}

type TrpcAnswer = { status: number; data: unknown; error: { message: string; code: string } | null };

/** A tRPC call from inside the page, with the signed-in user's cookies (what the portal's own client does). */
async function trpc(page: Page, kind: "query" | "mutation", path: string, input: unknown): Promise<TrpcAnswer> {
  return page.evaluate(
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

async function waitForRun(page: Page, runId: string, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await trpc(page, "query", "runs.get", { runId });
    const run = answer.data as { status: string; errorMessage: string | null } | null;
    if (run && ["success", "warning", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Pages wait on the agent and the server; vitest's default poll gives up after 1 s. */
const slow = { timeout: 30_000, interval: 100 };
const shots: string[] = [];
/** Serious and critical axe findings per page; asserted empty at the end so one run reports every page's. */
const axeFindings: string[] = [];
async function photograph(page: Page, name: string, scheme: "light" | "dark") {
  await page.screenshot({ path: join(screenshotsDir, `${name}-${scheme}.png`), fullPage: true });
  shots.push(`${name}-${scheme}`);
  for (const finding of await seriousAxeViolations(page)) axeFindings.push(`${name} (${scheme}): ${finding}`);
}

async function foreignRun(db: Database) {
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

describe("job and restore wizards in Chromium", () => {
  it("creates a backup job through the wizard, runs it, and restores two files byte-identically", {
    timeout: 300_000,
  }, async () => {
    const database = await createTestDatabase("wizards");
    cleanups.push(database.drop);
    const portal = await startPortal({
      DATABASE_URL: database.url,
      E3_SECRET_KEY: randomBytes(32).toString("base64"),
      E3_AUTH_SECRET: randomBytes(32).toString("base64"),
    });
    const db = createDatabase(database.url, { poolSize: 2 });
    cleanups.unshift(() => db.$disconnect());
    const requests: string[] = [];

    const context = await browser.newContext({ colorScheme: "light", viewport: { width: 1280, height: 900 } });
    cleanups.unshift(() => context.close());
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    await signIn(page, portal.url, seededCredentials(portal.output(), "client"));

    // The client enrolls this machine's agent with a token made in the portal.
    const token = await trpc(page, "mutation", "agents.createEnrollmentToken", { label: "wizard e2e" });
    expect(token.error).toBeNull();
    const home = await mkdtemp(join(dir, "agent-"));
    const agentEnv = {
      E3_AGENT_CONFIG: join(home, "agent.conf"),
      E3_AGENT_STATE: join(home, "state"),
      E3_AGENT_POLL_SECONDS: "0.5",
    };
    const enrolled = await runAgent(
      ["enroll", "--server", portal.url, "--token", (token.data as { token: string }).token, "--json"],
      agentEnv,
    );
    expect(enrolled.status, enrolled.stderr).toBe(0);
    const agent = startAgent(agentEnv);

    const source = join(dir, "documents");
    await mkdir(join(source, "letters"), { recursive: true });
    await writeFile(join(source, "letters", "bank.txt"), "dear bank\n");
    await writeFile(join(source, "report.bin"), randomBytes(700_000));
    await writeFile(join(source, "notes.md"), "# notes\n");
    await writeFile(join(source, "scratch.tmp"), "temporary\n");
    const bucket = bucketName("wizard-e2e");

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
    await page.getByLabel("Endpoint").fill(s3.endpoint);
    await page.getByLabel("Region").fill(s3.region);
    await page.getByLabel("Access key id").fill(s3.accessKeyId);
    await page.getByLabel("Secret access key").fill(s3.secretAccessKey);
    await page.locator('input[name="destination.bucket"]').fill(bucket);
    await page.getByLabel("Folder in the bucket (prefix)").fill("office");
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect.poll(() => page.getByTestId("connection-result").textContent(), slow).toContain("does not exist yet");
    await page.getByRole("button", { name: "Create bucket" }).click();
    await expect.poll(() => page.getByText(`Created ${bucket}.`).count(), slow).toBe(1);
    const s3Client = testBackend(s3, { bucket }).client;
    cleanups.push(async () => {
      await removeBucket(s3Client, bucket);
      s3Client.destroy();
    });
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

    // Run it: "Run now" goes to the run's live view; the run finishes there.
    await page.getByRole("button", { name: /^Run now\W+Documents$/ }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    const runId = page.url().split("/").at(-1)!;
    const run = await waitForRun(page, runId);
    expect(run, agent.output()).toMatchObject({ status: "success" });

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
    const restore = await waitForRun(page, page.url().split("/").at(-1)!);
    expect(restore, agent.output()).toMatchObject({ status: "success" });
    expect(await readFile(join(target, bankPath))).toEqual(await readFile(bankPath));
    expect(await readFile(join(target, source, "notes.md"))).toEqual(await readFile(join(source, "notes.md")));
    // Only the two chosen files came back.
    await expect(readFile(join(target, source, "report.bin"))).rejects.toThrow(/ENOENT/);

    // Another tenant's run: not found for this client, and nothing of it on the page.
    const foreign = await foreignRun(db);
    const refused = await trpc(page, "query", "runs.get", { runId: foreign.id });
    expect(refused.error?.code).toBe("NOT_FOUND");
    await page.goto(`${portal.url}/runs/${foreign.id}`);
    expect(await page.content()).not.toContain("Other tenant's secret job");

    // Dark mode: the same pages, photographed and checked.
    const dark = await browser.newContext({ colorScheme: "dark", viewport: { width: 1280, height: 900 } });
    cleanups.unshift(() => dark.close());
    const darkPage = await dark.newPage();
    darkPage.on("request", (request) => requests.push(request.url()));
    await signIn(darkPage, portal.url, seededCredentials(portal.output(), "client"));
    await darkPage.goto(`${portal.url}/jobs`);
    await expect.poll(() => darkPage.getByTestId("job-row").count(), slow).toBe(1);
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
    expect(shots.length).toBeGreaterThanOrEqual(18);
    expect(axeFindings).toEqual([]);
  });
});
