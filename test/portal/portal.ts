import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { createTestDatabase } from "@e3/db/testing";
import type { Browser, BrowserContextOptions } from "playwright-core";
import { afterEach } from "vitest";
import { seededCredentials, signIn } from "./session.ts";

// Runs scripts/start.ts (what `npm start` ends in) on a free port for a test, and stops it afterwards. The suites run
// after `pnpm build` (scripts/test.sh), so the production build is what is served.

const root = join(import.meta.dirname, "..", "..");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export function stopGracefully(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

export type RunningPortal = { child: ChildProcess; url: string; output: () => string };

/** Registers cleanup hooks in the calling test file; `cleanups` takes extra teardown (databases, folders). */
export function portalHarness() {
  const running: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const child of running.splice(0)) await stopGracefully(child);
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /**
   * `keep`: not stopped after the test; the caller stops it (stopGracefully) when the file is done with it. `port`:
   * this one instead of a free one (a portal started again where its agents expect it).
   */
  async function startPortal(
    env: NodeJS.ProcessEnv,
    options: { keep?: boolean; port?: number } = {},
  ): Promise<RunningPortal> {
    const port = options.port ?? (await freePort());
    // The test S3 server sits on loopback, which the wizard's probes refuse unless the provider allows it.
    const allowedS3 = process.env.E3_ALLOWED_S3_ENDPOINTS ?? process.env.E3_TEST_S3_ENDPOINT ?? "";
    const child = spawn(process.execPath, [join(root, "scripts", "start.ts")], {
      cwd: root,
      env: {
        ...process.env,
        E3_ALLOWED_S3_ENDPOINTS: allowedS3,
        ...env,
        PORT: String(port),
        WORKER_TICK_SECONDS: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (!options.keep) running.push(child);
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 90_000;
    while (!output.includes(`e3 is running: ${url}`)) {
      if (child.exitCode !== null) throw new Error(`start.ts exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`start.ts did not come up in 90 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return { child, url, output: () => output };
  }

  /**
   * A portal on a fresh database (dropped after the test) with the seeded client signed in on a new page. `outside`
   * collects every request the page sends to another host, `pageErrors` every uncaught error in the page.
   */
  async function startSignedIn(browser: Browser, databaseName: string, contextOptions: BrowserContextOptions = {}) {
    const database = await createTestDatabase(databaseName);
    cleanups.push(database.drop);
    const portal = await startPortal({ DATABASE_URL: database.url });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...contextOptions });
    const page = await context.newPage();
    const outside: string[] = [];
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("request", (request) => {
      if (!request.url().startsWith(portal.url)) outside.push(request.url());
    });
    await signIn(page, portal.url, seededCredentials(portal.output(), "client"));
    return { portal, context, page, outside, pageErrors };
  }

  return { startPortal, startSignedIn, stopGracefully, cleanups };
}
