import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createTestDatabase } from "@e3/db/testing";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portalHarness } from "./portal.ts";

// The portal in a real browser: Debian's Chromium driven by playwright-core against the production build.
// Screenshots land in test-results/ for people to look at.

const { startPortal, cleanups } = portalHarness();
const screenshots = join(import.meta.dirname, "..", "..", "test-results", "screenshots");
let browser: Browser;

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
});
afterAll(() => browser?.close());

describe("portal in Chromium", () => {
  it("signs a client in, refuses a wrong password with a message, and shows the dashboard", async () => {
    const database = await createTestDatabase("browser");
    cleanups.push(database.drop);
    const portal = await startPortal({ DATABASE_URL: database.url });
    const [, email, password] = /client +(\S+) \/ (\S+)/.exec(portal.output()) ?? [];

    const backgrounds: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      const context = await browser.newContext({ colorScheme });
      const page = await context.newPage();
      const requests: string[] = [];
      page.on("request", (request) => requests.push(request.url()));

      await page.goto(`${portal.url}/sign-in`);
      await page.getByLabel("Email").fill(email!);
      await page.getByLabel("Password").fill("not the password");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.locator("#sign-in-error").textContent()).toMatch(/invalid/i);
      await page.screenshot({ path: join(screenshots, `sign-in-error-${colorScheme}.png`) });

      await page.getByLabel("Password").fill(password!);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(`${portal.url}/dashboard`);
      await expect.poll(() => page.getByTestId("count-protected").textContent()).toBe("0");
      await expect.poll(() => page.getByText("No backup jobs yet").count()).toBe(1);
      await page.screenshot({ path: join(screenshots, `dashboard-${colorScheme}.png`), fullPage: true });
      backgrounds.push(String(await page.evaluate("getComputedStyle(document.body).backgroundColor")));

      // Nothing is fetched from any host but the portal (no CDN, no web fonts).
      expect(requests.filter((url) => !url.startsWith(portal.url))).toEqual([]);
      await context.close();
    }
    // Dark mode follows the system setting.
    expect(backgrounds[0]).not.toBe(backgrounds[1]);
  });
});
