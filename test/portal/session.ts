import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

// Shared by the portal's browser suites: Debian's Chromium, the seeded users' credentials from start.ts's output,
// and signing in through the real form.

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
