import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { seriousAxeViolations } from "./axe.ts";

// Shared by the portal's browser suites: Debian's Chromium, the seeded users' credentials from start.ts's output,
// signing in through the real form, the agent REST API and tRPC as the signed-in user, and the screenshot + axe check.

export const screenshotsDir = join(import.meta.dirname, "..", "..", "test-results", "screenshots");

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** The seeded accounts that scripts/start.ts prints on first start ("client  email / password"). */
export function seededCredentials(output: string, role: "client" | "admin"): { email: string; password: string } {
  const match = new RegExp(`${role} +(\\S+) \\/ (\\S+)`).exec(output);
  if (!match) throw new Error(`start.ts printed no ${role} credentials:\n${output}`);
  return { email: match[1]!, password: match[2]! };
}

export async function signIn(page: Page, portalUrl: string, credentials: { email: string; password: string }) {
  await page.goto(`${portalUrl}/sign-in`);
  await page.getByLabel("Email").fill(credentials.email);
  await page.getByLabel("Password").fill(credentials.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/sign-in"));
}

export type AgentCredentials = { agentId: string; agentToken: string };

/** A call to the agent REST API (`/agent/*`), as the agent when its credentials are given. */
export async function agentCall(portalUrl: string, endpoint: string, body: unknown, agent?: AgentCredentials) {
  const response = await fetch(`${portalUrl}/agent/${endpoint}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(agent ? { "x-agent-id": agent.agentId, "x-agent-token": agent.agentToken } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`/agent/${endpoint} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

/** A tRPC mutation as the signed-in browser user (same cookies), the way the pages call it. */
export async function mutate(context: BrowserContext, portalUrl: string, path: string, input: unknown) {
  const response = await context.request.post(`${portalUrl}/api/trpc/${path}`, { data: { json: input } });
  const body = (await response.json()) as { result?: { data: { json: unknown } }; error?: unknown };
  if (!response.ok() || !body.result) throw new Error(`${path} failed: ${JSON.stringify(body.error)}`);
  return body.result.data.json as Record<string, unknown>;
}

/** A demo agent enrolled through the REST API with a token the signed-in user created (no agent process runs). */
export async function enrollDemoAgent(
  context: BrowserContext,
  portalUrl: string,
  machine: { label: string; hostname: string },
): Promise<AgentCredentials> {
  const { token } = await mutate(context, portalUrl, "agents.createEnrollmentToken", { label: machine.label });
  return (await agentCall(portalUrl, "enroll", {
    token,
    hostname: machine.hostname,
    os: "linux",
    arch: "x64",
    version: "0.1.0",
  })) as unknown as AgentCredentials;
}

/** Screenshots the page in one colour scheme and asserts it has no serious or critical axe violations. */
export async function checkPage(page: Page, name: string, colorScheme: "light" | "dark") {
  await page.emulateMedia({ colorScheme });
  // Let the theme script's media listener and any skeletons settle.
  await page.waitForFunction(`document.documentElement.classList.contains("dark") === ${colorScheme === "dark"}`);
  await page.screenshot({ path: join(screenshotsDir, `${name}-${colorScheme}.png`), fullPage: true });
  expect(await seriousAxeViolations(page), `${name} in ${colorScheme} mode`).toEqual([]);
}
