import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createTestDatabase } from "@e3/db/testing";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seriousAxeViolations } from "./axe.ts";
import { portalHarness } from "./portal.ts";
import { launchChromium, screenshotsDir, seededCredentials, signIn } from "./session.ts";

// The portal in a real browser: Debian's Chromium driven by playwright-core against the production build.
// Screenshots land in test-results/ for people to look at.

const { startPortal, cleanups } = portalHarness();
const screenshots = screenshotsDir;
let browser: Browser;

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  browser = await launchChromium();
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
      expect(await seriousAxeViolations(page)).toEqual([]);
      backgrounds.push(String(await page.evaluate("getComputedStyle(document.body).backgroundColor")));

      // Nothing is fetched from any host but the portal (no CDN, no web fonts).
      expect(requests.filter((url) => !url.startsWith(portal.url))).toEqual([]);
      await context.close();
    }
    // Dark mode follows the system setting.
    expect(backgrounds[0]).not.toBe(backgrounds[1]);
  });

  it("keeps a manual theme across reloads, collapses the navigation on a phone, and signs out", async () => {
    const database = await createTestDatabase("shell");
    cleanups.push(database.drop);
    const portal = await startPortal({ DATABASE_URL: database.url });
    const context = await browser.newContext({ colorScheme: "light", viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await signIn(page, portal.url, seededCredentials(portal.output(), "client"));
    const isDark = () => page.evaluate("document.documentElement.classList.contains('dark')");
    expect(await isDark()).toBe(false);

    // A theme flip repaints at once: nothing eases through mid-way colours (they fail contrast, and flicker).
    const runningTransitions = () =>
      page.evaluate(
        "document.getAnimations().filter((a) => a instanceof CSSTransition).map((a) => a.transitionProperty)",
      );
    await expect.poll(runningTransitions).toEqual([]);
    await page.emulateMedia({ colorScheme: "dark" });
    await page.waitForFunction("document.documentElement.classList.contains('dark')");
    expect(await runningTransitions()).toEqual([]);
    await page.emulateMedia({ colorScheme: "light" });
    await page.waitForFunction("!document.documentElement.classList.contains('dark')");

    await page.getByTestId("theme-toggle").click();
    await page.getByRole("menuitemradio", { name: "Dark" }).click();
    expect(await isDark()).toBe(true);
    await page.reload();
    // Applied by the head script before the first paint, so it holds before any client code runs.
    expect(await isDark()).toBe(true);

    // On a phone the sidebar is a drawer behind the menu button; Esc closes it.
    const navigation = page.getByRole("navigation", { name: "Main" });
    expect(await navigation.isVisible()).toBe(false);
    await page.getByTestId("nav-toggle").click();
    await expect.poll(() => navigation.isVisible()).toBe(true);
    await page.screenshot({ path: join(screenshots, "shell-phone-drawer-dark.png") });
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.keyboard.press("Escape");
    await expect.poll(() => navigation.isVisible()).toBe(false);

    await page.getByTestId("user-menu").click();
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await page.waitForURL(`${portal.url}/sign-in?reason=signed-out`);
    await expect.poll(() => page.getByText("You have signed out.").count()).toBe(1);
    // The session is gone: the dashboard sends the visitor back to sign in.
    await page.goto(`${portal.url}/dashboard`);
    await page.waitForURL(`${portal.url}/sign-in`);
    await context.close();
  });
});
