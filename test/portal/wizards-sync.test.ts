import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketName } from "../../packages/engine/test/storage-s3-env.ts";
import { rclone } from "../../packages/engine/test/sync-fixtures.ts";
import {
  agentOutput,
  axeFindings,
  bucketCleanup,
  dir,
  fillS3,
  foreignRun,
  page,
  percentOf,
  photographBoth,
  portal,
  recordLiveView,
  requests,
  setUpWizards,
  shots,
  slow,
  trpc,
  watchToTheEnd,
} from "./wizard-fixture.ts";

// The sync wizard in Chromium, against one portal and one real agent (enrolled with a fresh token before the first
// case): the client creates a sync job (mirror to S3 with a bandwidth limit) whose run the live view follows through
// its progress, and finds the bucket identical to the folder (rclone check --download); another tenant's run stays
// out of reach of the same client. Every page is checked by axe and photographed in light and dark mode. The backup
// and restore wizards: wizards-backup.test.ts.

setUpWizards("wizards-sync", { enroll: true });

describe("sync job wizard and tenant isolation in Chromium", () => {
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
    await expect.poll(() => page.getByTestId("job-row").count(), slow).toBe(1);

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

  it("keeps another tenant's run out of reach", async () => {
    const foreign = await foreignRun();
    const refused = await trpc(page, "query", "runs.get", { runId: foreign.id });
    expect(refused.error?.code).toBe("NOT_FOUND");
    await page.goto(`${portal.url}/runs/${foreign.id}`);
    expect(await page.content()).not.toContain("Other tenant's secret job");

    // Nothing was fetched from any host but the portal.
    expect(requests.filter((url) => !url.startsWith(portal.url))).toEqual([]);
    expect(shots.length).toBeGreaterThanOrEqual(6);
    expect(axeFindings).toEqual([]);
  });
});
