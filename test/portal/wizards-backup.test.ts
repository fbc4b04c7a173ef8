import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketName } from "../../packages/engine/test/storage-s3-env.ts";
import { seededCredentials, signIn } from "./session.ts";
import {
  agentOutput,
  agents,
  axeFindings,
  browser,
  bucketCleanup,
  db,
  dir,
  enrollAgent,
  fillS3,
  page,
  pageErrors,
  photograph,
  photographBoth,
  portal,
  recordLiveView,
  requests,
  s3,
  setUpWizards,
  shots,
  slow,
  teardown,
  watchToTheEnd,
} from "./wizard-fixture.ts";

// The backup side of the client's wizards in Chromium, against one portal and one real agent, in order: the client
// enrolls the agent with the command the Agents page's dialog shows and sees it appear live; creates a backup job
// through the job wizard (Test connection, create bucket, a typed source with a pattern preview from the agent's own
// listing, schedule, retention preview, review), watches its run finish in the live view, and restores two selected
// files to another folder byte-identically; an admin starts full maintenance from the job's page and sees its run
// succeed; the job's wizard and restore pages are shown in dark mode. Every page is checked by axe and photographed.
// The sync wizard and tenant isolation: wizards-sync.test.ts.

setUpWizards("wizards-backup");

const source = join(dir, "documents");
const backupBucket = bucketName("wizard-e2e");

describe("backup job and restore wizards in Chromium", () => {
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

    await enrollAgent(enrollLine!.split(" ").slice(1));
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

  it("shows the client's job wizard and restore pages in dark mode", {
    timeout: 180_000,
  }, async () => {
    const job = await db.job.findFirstOrThrow({ where: { name: "Documents" } });
    // Dark mode: the same pages, photographed and checked.
    const dark = await browser.newContext({ colorScheme: "dark", viewport: { width: 1280, height: 900 } });
    teardown.push(() => dark.close());
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
    expect(shots.length).toBeGreaterThanOrEqual(28);
    expect(axeFindings).toEqual([]);
  });
});
