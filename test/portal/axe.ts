import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

// axe-core injected from node_modules into the page under test (never from a CDN), run over the whole document.
// Serious and critical violations fail a page; minor and moderate ones are returned for the log.

const require = createRequire(import.meta.url);
let axeSource: Promise<string> | undefined;

export type AxeViolation = {
  id: string;
  impact: "minor" | "moderate" | "serious" | "critical" | null;
  help: string;
  helpUrl: string;
  nodes: { target: string[]; html: string; failureSummary?: string }[];
};

export async function runAxe(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  const source = await axeSource;
  const loaded = await page.evaluate("typeof window.axe !== 'undefined'");
  if (!loaded) await page.addScriptTag({ content: source });
  return (await page.evaluate(`window.axe.run(document, {
      resultTypes: ["violations"],
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    }).then((result) => result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, html: n.html.slice(0, 200), failureSummary: n.failureSummary })),
    })))`)) as AxeViolation[];
}

/** The serious and critical violations of the page, formatted so a failing assertion says what and where. */
export async function seriousAxeViolations(page: Page): Promise<string[]> {
  // Next streams a page's metadata after its content: axe once ran before the <title> arrived and reported none. A
  // page that never gets one is still reported, by axe, after this wait.
  await page.waitForFunction("document.title.trim().length > 0", undefined, { timeout: 5000 }).catch(() => {});
  const violations = await runAxe(page);
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.impact} ${violation.id}: ${violation.help}\n${violation.nodes
          .map((node) => `    at ${node.target.join(" ")}: ${node.html}\n      ${node.failureSummary ?? ""}`)
          .join("\n")}`,
    );
}
