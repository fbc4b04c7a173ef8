import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portalHarness } from "./portal.ts";
import { agentCall, checkPage, enrollDemoAgent, launchChromium, mutate } from "./session.ts";

// In Chromium against the production build: an agent-held job's recovery passphrase handed out once as a file, a
// paused schedule shown as paused on the jobs page and the dashboard, and a run opened in a modal from the runs
// history (events, log; Esc closes, focus returns). Axe-checked in light and dark mode.

const { startSignedIn } = portalHarness();
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function checkBoth(page: Page, name: string) {
  for (const colorScheme of ["light", "dark"] as const) await checkPage(page, name, colorScheme);
  await page.emulateMedia({ colorScheme: "light" });
}

describe("portal: recovery passphrase, paused schedules, run modal", () => {
  it("hands out the passphrase once as a file, shows a paused job as paused, and opens a run in a modal", async () => {
    const { portal, context, page, outside } = await startSignedIn(browser, "portal-ui", { acceptDownloads: true });
    const agent = await enrollDemoAgent(context, portal.url, { label: "ui", hostname: "ui-pc" });
    const job = await mutate(context, portal.url, "jobs.create", {
      name: "Private",
      agentId: agent.agentId,
      engine: "backup",
      encryptionMode: "agent",
      sourcePaths: ["/data"],
      destination: { type: "local", path: "/tmp/e3-portal-ui-repo" },
      schedule: { kind: "cron", cron: "0 2 * * *", timezone: "UTC" },
    });
    const { runId } = await mutate(context, portal.url, "jobs.runNow", { jobId: job.id });
    const claimed = (await agentCall(portal.url, "next_run", {}, agent)) as { run: { runId: string } | null };
    expect(claimed.run?.runId).toBe(runId);
    await agentCall(portal.url, "update_run", { runId, status: "running", progress: { phase: "scanning" } }, agent);
    const passphrase = "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2";
    const now = Date.now();
    await agentCall(
      portal.url,
      "push_events",
      {
        runId,
        events: [
          { seq: 1, ts: new Date(now).toISOString(), type: "BACKUP_STARTING", message: "backing up /data" },
          {
            seq: 2,
            ts: new Date(now + 1).toISOString(),
            type: "RECOVERY_KEY_CREATED",
            message: "a recovery passphrase is ready",
            data: { keyId: "k1", passphrase },
          },
        ],
      },
      agent,
    );
    await agentCall(
      portal.url,
      "push_logs",
      { runId, logs: [{ seq: 1, ts: new Date(now).toISOString(), level: "info", message: "repository created" }] },
      agent,
    );

    // --- Jobs page: the waiting passphrase, taken once as a file.
    await page.goto(`${portal.url}/jobs`);
    await expect.poll(() => page.getByTestId("recovery-keys-waiting").textContent()).toContain("Private");
    await page.getByRole("button", { name: /Recovery passphrase\W+Private/ }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).toContain("Shown once.");
    await checkBoth(page, "jobs-recovery-key");
    const download = page.waitForEvent("download");
    await dialog.getByRole("button", { name: "Download passphrase" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe("e3-recovery-private.txt");
    const text = await readFile((await file.path())!, "utf8");
    expect(text).toContain(passphrase);
    expect(text).toContain("restic -r /tmp/e3-portal-ui-repo restore latest");
    expect(await dialog.getByTestId("recovery-key").textContent()).toContain(passphrase);
    await dialog.getByRole("button", { name: "I have saved it" }).click();
    await page.reload();
    await page.getByTestId("job-row").first().waitFor();
    expect(await page.getByTestId("recovery-keys-waiting").count()).toBe(0);
    await expect(mutate(context, portal.url, "jobs.recoveryKey", { jobId: job.id })).rejects.toThrow(
      /downloaded already/,
    );

    // --- Pause for a day from the keyboard-operable menu; the row and the dashboard say paused.
    await page.getByRole("button", { name: /Pause\W+Private/ }).click();
    await page.getByRole("menuitem", { name: "For 1 day" }).click();
    await expect.poll(() => page.getByTestId("job-paused").count()).toBe(1);
    expect(await page.getByTestId("job-row").first().textContent()).toMatch(/Paused/);
    await checkBoth(page, "jobs-paused");
    await page.goto(`${portal.url}/dashboard`);
    await expect.poll(() => page.getByTestId("verdict").textContent()).toMatch(/Every job is paused/);
    expect(await page.getByTestId("count-overdue").textContent()).toBe("0");
    await page.goto(`${portal.url}/jobs`);
    await page.getByRole("button", { name: /Resume\W+Private/ }).click();
    await expect.poll(() => page.getByTestId("job-paused").count()).toBe(0);

    // --- Runs history: the run opens in a modal with its events and log; Esc closes, focus returns to the link.
    await page.goto(`${portal.url}/runs`);
    const link = page.getByTestId("run-row").first().getByRole("link", { name: "Private" });
    await link.click();
    const modal = page.getByRole("dialog", { name: "Run of Private" });
    await expect.poll(() => modal.getByTestId("event-timeline").textContent()).toContain("RECOVERY_KEY_CREATED");
    expect(page.url()).toBe(`${portal.url}/runs`);
    await checkBoth(page, "runs-modal");
    await modal.getByRole("tab", { name: "Log" }).click();
    await expect.poll(() => modal.textContent()).toContain("repository created");
    await page.keyboard.press("Escape");
    await expect.poll(() => modal.count()).toBe(0);
    await expect.poll(() => page.evaluate("document.activeElement?.textContent")).toBe("Private");
    expect(outside).toEqual([]);
    await context.close();
  }, 240_000);
});
