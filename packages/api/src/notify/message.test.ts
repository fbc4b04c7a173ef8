import { describe, expect, it } from "vitest";
import { type RunNotice, renderEmail, wantsNotice } from "./message.ts";
import { signWebhook } from "./webhook.ts";

const run = (status: string, extra: Partial<RunNotice> = {}): RunNotice => ({
  kind: "run.finished",
  tenantName: "Acme",
  jobName: "Documents",
  runId: "r1",
  runType: "restore",
  status,
  errorCode: null,
  errorMessage: null,
  startedAt: new Date("2026-01-01T02:00:00Z"),
  finishedAt: new Date("2026-01-01T02:03:05Z"),
  portalUrl: "https://backup.example.com",
  ...extra,
});

describe("notification policy", () => {
  it.each([
    ["all", "success", true],
    ["all", "failed", true],
    ["errors", "success", false],
    ["errors", "cancelled", false],
    ["errors", "warning", true],
    ["errors", "failed", true],
    ["off", "failed", false],
  ] as const)("policy %s, run %s → %s", (policy, status, expected) => {
    expect(wantsNotice(policy, run(status))).toBe(expected);
  });

  it("treats an offline agent as a problem and says what to check", () => {
    const offline = {
      kind: "agent.offline",
      tenantName: "A",
      agentName: "pc-7",
      agentId: "a7",
      lastSeenAt: new Date("2026-01-01T00:00:00Z"),
      portalUrl: "https://p",
    } as const;
    expect(wantsNotice("errors", offline)).toBe(true);
    const email = renderEmail(offline);
    expect(email.subject).toBe("[e3] Offline: pc-7 stopped checking in");
    expect(email.text).toContain("since 2026-01-01T00:00:00.000Z");
  });

  it("treats overdue alerts as problems", () => {
    const overdue = {
      kind: "job.overdue",
      tenantName: "A",
      jobName: "J",
      jobId: "j",
      lastSuccessAt: null,
      portalUrl: "",
    } as const;
    expect(wantsNotice("errors", overdue)).toBe(true);
    expect(wantsNotice("off", overdue)).toBe(false);
  });
});

describe("renderEmail", () => {
  it("says what ended, how, why, and where to look", () => {
    const email = renderEmail(
      run("failed", { errorCode: "AGENT_OFFLINE", errorMessage: "the agent stopped reporting" }),
    );
    expect(email.subject).toBe("[e3] Restore failed: Documents");
    expect(email.text).toContain("ended: failed after 3m 5s");
    expect(email.text).toContain("Reason: AGENT_OFFLINE: the agent stopped reporting");
    expect(email.text).toContain("https://backup.example.com/runs/r1");
  });
});

describe("signWebhook", () => {
  it("is HMAC-SHA256 over timestamp.body", () => {
    // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
    expect(signWebhook("secret", 1_700_000_000, '{"a":1}')).toBe(
      "v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686",
    );
  });
});
