import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portalHarness } from "./portal.ts";
import { type AgentCredentials, agentCall, checkPage, launchChromium, mutate } from "./session.ts";

// The client pages around runs in Chromium against the production build: enrolling an agent that appears live, a
// run driven through the agent REST API whose progress reaches the live view without a reload (also after the
// connection drops), the log, the run list with filters, the dashboard with data, and notification settings with a
// Test that really arrives. Every page is screenshotted and axe-checked in light and dark mode.

const { startSignedIn } = portalHarness();
let browser: Browser;
let hookServer: Server;
const hooks: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  hookServer = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      hooks.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => hookServer.close(resolve));
});

describe("client pages in Chromium", () => {
  it("enrolls an agent live, follows a run in the live view, and shows runs, dashboard and settings", async () => {
    const { portal, context, page, outside, pageErrors } = await startSignedIn(browser, "pages", {
      colorScheme: "light",
    });
    // The live view's server-sent-event streams (tRPC subscription runs.live).
    const liveStreams: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/api/trpc/runs.live")) liveStreams.push(request.url());
    });

    // --- Agents: enroll a machine; it appears in the dialog and the list as soon as it enrolls and polls.
    await page.goto(`${portal.url}/agents`);
    await page.getByRole("button", { name: "Enroll a machine" }).click();
    await page.getByLabel("Label").fill("lab machine");
    await page.getByRole("button", { name: "Create enrollment token" }).click();
    const command = await page.getByTestId("enroll-command").textContent();
    expect(command).toContain(`--server ${portal.url}`);
    const token = /--token (\S+)/.exec(command ?? "")?.[1];
    expect(token).toMatch(/^e3enr_/);
    await checkPage(page, "agents-enroll", "light");
    expect(await page.getByTestId("enroll-status").textContent()).toMatch(/Waiting for the agent/);
    const enrolled = (await agentCall(portal.url, "enroll", {
      token,
      hostname: "lab-pc",
      os: "linux",
      arch: "x64",
      version: "0.1.0",
    })) as unknown as AgentCredentials;
    // Enrolled, not yet running: the dialog waits for the first poll instead of saying online.
    await expect
      .poll(() => page.getByTestId("enroll-status").textContent(), { timeout: 15_000 })
      .toMatch(/lab-pc\) enrolled; waiting for its first poll/);
    // The list behind the dialog agrees: enrolled is not online until the agent polls.
    await expect.poll(() => page.getByTestId(`agent-${enrolled.agentId}`).textContent()).toMatch(/Never connected/);
    await agentCall(portal.url, "next_run", { hostname: "lab-pc", version: "0.1.0" }, enrolled);
    await expect
      .poll(() => page.getByTestId("enroll-status").textContent(), { timeout: 15_000 })
      .toMatch(/lab-pc\) enrolled and online/);
    await page.keyboard.press("Escape");
    const row = page.getByTestId(`agent-${enrolled.agentId}`);
    await expect.poll(() => row.textContent()).toMatch(/Online/);
    expect(await row.textContent()).toContain("linux / x64");

    // --- A backup job, run now, claimed and driven by the "agent" through the REST API.
    const job = await mutate(context, portal.url, "jobs.create", {
      name: "Documents",
      agentId: enrolled.agentId,
      engine: "backup",
      sourcePaths: ["/data"],
      destination: { type: "local", path: "/tmp/e3-pages-repo" },
      schedule: { kind: "cron", cron: "0 2 * * *", timezone: "UTC" },
    });
    const { runId } = await mutate(context, portal.url, "jobs.runNow", { jobId: job.id });
    const claimed = (await agentCall(portal.url, "next_run", {}, enrolled)) as { run: { runId: string } | null };
    expect(claimed.run?.runId).toBe(runId);
    await agentCall(
      portal.url,
      "update_run",
      { runId, status: "running", progress: { phase: "scanning", filesDone: 12 } },
      enrolled,
    );
    const now = Date.now();
    await agentCall(
      portal.url,
      "push_events",
      {
        runId,
        events: [{ seq: 1, ts: new Date(now).toISOString(), type: "BACKUP_STARTING", message: "backing up /data" }],
      },
      enrolled,
    );
    await agentCall(
      portal.url,
      "push_logs",
      {
        runId,
        logs: [
          { seq: 1, ts: new Date(now).toISOString(), level: "info", message: "repository opened" },
          { seq: 2, ts: new Date(now + 1).toISOString(), level: "warn", message: "/data/locked.db: permission denied" },
          { seq: 3, ts: new Date(now + 2).toISOString(), level: "debug", message: "chunker ready" },
        ],
      },
      enrolled,
    );

    await page.goto(`${portal.url}/runs/${runId}`);
    await expect.poll(() => page.getByTestId("live-phase").textContent()).toBe("Scanning");
    expect(await page.getByTestId("live-percent").textContent()).toBe("Calculating…");
    expect(await page.getByRole("progressbar").getAttribute("aria-valuetext")).toBe("calculating");
    expect(await page.getByTestId("safe-to-close").textContent()).toMatch(/safe to close this page/);
    await expect.poll(() => page.getByTestId("event-timeline").textContent()).toContain("BACKUP_STARTING");

    // Progress pushed by update_run arrives without a reload.
    const mib = 1024 * 1024;
    const deepFile = "/data/photos/2026/holiday/with/a/very/long/path/that/does/not/fit/IMG_0001.jpg";
    await agentCall(
      portal.url,
      "update_run",
      {
        runId,
        progress: {
          phase: "uploading",
          filesDone: 40,
          filesTotal: 100,
          bytesDone: 50 * mib,
          bytesTotal: 100 * mib,
          bytesPerSecond: 10 * mib,
          etaSeconds: 5,
          currentFiles: [deepFile],
        },
      },
      enrolled,
    );
    await expect.poll(() => page.getByTestId("live-percent").textContent(), { timeout: 15_000 }).toBe("50 %");
    expect(await page.getByTestId("live-phase").textContent()).toBe("Uploading");
    expect(liveStreams.length).toBeGreaterThan(0);
    expect(await page.getByTestId("live-bytes").textContent()).toBe("50 MiB of 100 MiB");
    expect(await page.getByTestId("live-files").textContent()).toBe("40 of 100");
    expect(await page.getByTestId("live-speed").textContent()).toBe("10 MiB/s");
    expect(await page.getByTestId("live-eta").textContent()).toBe("5 s");
    const current = page.getByTestId("live-current-file");
    expect((await current.textContent())?.length).toBeLessThan(deepFile.length);
    await current.focus();
    await expect.poll(() => page.getByRole("tooltip").textContent()).toContain(deepFile);
    await checkPage(page, "run-live", "light");
    await checkPage(page, "run-live", "dark");
    await page.emulateMedia({ colorScheme: "light" });

    // The connection drops and comes back: the subscription resumes and the next update still arrives.
    await context.setOffline(true);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await context.setOffline(false);
    await agentCall(
      portal.url,
      "update_run",
      { runId, progress: { phase: "uploading", bytesDone: 75 * mib, bytesTotal: 100 * mib } },
      enrolled,
    );
    await expect.poll(() => page.getByTestId("live-percent").textContent(), { timeout: 20_000 }).toBe("75 %");

    // The log tails live; the level filter and the search narrow it.
    await page.getByRole("tab", { name: "Log" }).click();
    const log = page.getByTestId("run-log");
    await expect.poll(() => log.textContent()).toContain("permission denied");
    expect(await log.textContent()).not.toContain("chunker ready");
    await agentCall(
      portal.url,
      "push_logs",
      { runId, logs: [{ seq: 4, ts: new Date(now + 3).toISOString(), level: "error", message: "late line arrives" }] },
      enrolled,
    );
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain("late line arrives");
    await page.getByRole("checkbox", { name: "debug" }).click();
    await expect.poll(() => log.textContent()).toContain("chunker ready");
    await page.getByRole("searchbox", { name: "Search the log" }).fill("permission");
    await page.keyboard.press("Enter");
    await expect
      .poll(async () => {
        const text = (await log.textContent()) ?? "";
        return text.includes("permission denied") && !text.includes("repository opened");
      })
      .toBe(true);
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download" }).click();
    expect((await download).suggestedFilename()).toBe(`run-${runId}.log`);
    await checkPage(page, "run-log", "dark");
    await page.emulateMedia({ colorScheme: "light" });

    // The run ends: the page shows the outcome without a reload.
    await agentCall(
      portal.url,
      "update_run",
      {
        runId,
        status: "success",
        stats: {
          totalFilesProcessed: 100,
          totalBytesProcessed: 100 * mib,
          dataAdded: 60 * mib,
          dataAddedPacked: 40 * mib,
        },
        snapshot: {
          id: "d".repeat(64),
          time: new Date().toISOString(),
          hostname: "lab-pc",
          paths: ["/data"],
          fileCount: 100,
          sizeBytes: 100 * mib,
          addedBytes: 40 * mib,
        },
      },
      enrolled,
    );
    await expect.poll(() => page.locator('[data-status="success"]').count(), { timeout: 15_000 }).toBeGreaterThan(0);

    await expect.poll(() => page.getByTestId("run-summary").textContent()).toContain("Stored (compressed)40 MiB");
    expect(await page.getByTestId("safe-to-close").count()).toBe(0);
    await checkPage(page, "run-finished", "light");

    // A failed run with its reason code, for the list and the dashboard.
    const { runId: failedId } = await mutate(context, portal.url, "jobs.runNow", { jobId: job.id });
    await agentCall(portal.url, "next_run", {}, enrolled);
    await agentCall(
      portal.url,
      "update_run",
      { runId: failedId, status: "failed", errorCode: "SOURCE_UNREADABLE", errorMessage: "3 files could not be read" },
      enrolled,
    );

    // --- Runs: both runs, newest first; the status filter narrows the list, in the URL.
    await page.goto(`${portal.url}/runs`);
    await expect.poll(() => page.getByTestId("run-row").count()).toBe(2);
    expect(await page.getByTestId("run-row").first().textContent()).toContain("SOURCE_UNREADABLE");
    await page.getByLabel("Status").selectOption("success");
    await page.waitForURL(/status=success/);
    await expect.poll(() => page.getByTestId("run-row").count()).toBe(1);
    await checkPage(page, "runs", "light");
    await checkPage(page, "runs", "dark");
    await page.emulateMedia({ colorScheme: "light" });

    // --- Dashboard: the verdict, the failing job in the problems list, recent activity, the strip and storage.
    await page.goto(`${portal.url}/dashboard`);
    await expect.poll(() => page.getByTestId("count-failing").textContent()).toBe("1");
    expect(await page.getByTestId("verdict").textContent()).toMatch(/1 job needs attention/);
    await expect.poll(() => page.getByTestId("problems").textContent()).toContain("SOURCE_UNREADABLE");
    await page.getByRole("tab", { name: "Table" }).click();
    await expect.poll(() => page.getByRole("table", { name: "Storage per day" }).textContent()).toContain("40 MiB");
    await checkPage(page, "dashboard-data", "light");
    await checkPage(page, "dashboard-data", "dark");
    await page.emulateMedia({ colorScheme: "light" });

    // --- Settings: level, an email channel (no SMTP here: the Test says so) and a webhook whose Test arrives.
    await page.goto(`${portal.url}/settings`);
    await page.getByRole("radio", { name: "Everything" }).click();
    await expect.poll(() => page.getByText("Saved.").count()).toBe(1);
    await page.getByLabel("Name").fill("Ops mail");
    await page.getByLabel("Email address").fill("not an address");
    await page.getByRole("button", { name: "Add channel" }).click();
    await expect.poll(() => page.getByText("must be an email address").count()).toBe(1);
    expect(await page.getByLabel("Email address").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("Email address").fill("ops@example.com");
    await page.getByRole("button", { name: "Add channel" }).click();
    await expect.poll(() => page.getByTestId("channel").count()).toBe(1);
    await page.getByRole("radio", { name: /Webhook/ }).click();
    await page.getByLabel("Name").fill("Chat hook");
    await page.getByLabel("URL").fill(`http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/e3`);
    await page.getByRole("button", { name: "Generate" }).click();
    await page.getByRole("button", { name: "Add channel" }).click();
    await expect.poll(() => page.getByTestId("channel").count()).toBe(2);
    const [mailChannel, hookChannel] = [page.getByTestId("channel").nth(0), page.getByTestId("channel").nth(1)];
    await mailChannel.getByRole("button", { name: "Test" }).click();
    await expect
      .poll(() => mailChannel.getByTestId("channel-test-result").textContent())
      .toMatch(/SMTP_URL is not set/);
    await hookChannel.getByRole("button", { name: "Test" }).click();
    await expect.poll(() => hookChannel.getByTestId("channel-test-result").textContent()).toMatch(/Test sent/);
    expect(hooks).toHaveLength(1);
    expect(JSON.parse(hooks[0]!.body)).toMatchObject({ type: "test", channelName: "Chat hook" });
    expect(hooks[0]!.headers["x-e3-signature"]).toMatch(/^v1=[0-9a-f]{64}$/);
    await checkPage(page, "settings", "light");
    await checkPage(page, "settings", "dark");
    await page.emulateMedia({ colorScheme: "light" });

    // --- Agents list and the empty run view of a run id that is not ours.
    await page.goto(`${portal.url}/agents`);
    await expect.poll(() => row.textContent()).toMatch(/Online/);
    await checkPage(page, "agents", "light");
    await checkPage(page, "agents", "dark");
    // The offline-agent email's link lands on the agents page.
    await page.goto(`${portal.url}/agents/${enrolled.agentId}`);
    await page.waitForURL(`${portal.url}/agents?agent=${enrolled.agentId}`);
    await page.goto(`${portal.url}/runs/00000000-0000-4000-8000-000000000000`);
    await expect.poll(() => page.getByText("This run could not load.").count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByText("run not found").count()).toBe(1);

    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 240_000);
});
