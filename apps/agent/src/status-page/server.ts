import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { ListJobsResponse } from "@e3/api/agent-contract";
import { z } from "zod";
import { writeFileAtomically } from "../agent/atomic-file.ts";
import type { AgentClient } from "../agent/client.ts";
import type { Platform } from "../platform/platform.ts";
import type { AgentStatus } from "./agent-status.ts";
import { faviconSvg, pageCss, pageHtml, pageScript } from "./page.ts";

// The agent's status page on 127.0.0.1 (the seed's tray helper, in a browser): a random port, and a random token
// without which nothing is served. The address with the token is written to <state>/status-page.json, readable by
// the service account and the desktop user (`e3-backup-agent status-page` prints it). Opening that address sets
// the token as a SameSite=Strict cookie and drops it from the address bar. Requests must name 127.0.0.1 or
// localhost as their host (no DNS rebinding), state changes must be JSON POSTs from the page's own origin.

// The single-file build defines Alpine's source; from the sources it is read from the package.
declare const __E3_ALPINE_SOURCE__: string | undefined;

function alpineSource(): string {
  return typeof __E3_ALPINE_SOURCE__ === "string"
    ? __E3_ALPINE_SOURCE__
    : readFileSync(createRequire(import.meta.url).resolve("alpinejs/dist/cdn.min.js"), "utf8");
}

export const statusPageFile = (stateDir: string) => join(stateDir, "status-page.json");
export const statusPageFileSchema = z.object({
  url: z.url(),
  port: z.number().int(),
  token: z.string(),
  pid: z.number(),
});

const enrollInputSchema = z.strictObject({
  server: z.url({ protocol: /^https?$/, error: "the portal address must be an http(s) URL" }),
  token: z.string().trim().min(1, "the enrollment token is missing"),
  name: z.string().trim().max(255).optional(),
});
const runNowSchema = z.strictObject({ jobId: z.uuid({ error: "jobId must be one of this agent's job ids" }) });

export type StatusPageOptions = {
  status: AgentStatus;
  stateDir: string;
  platform: Platform;
  /** The agent's client once enrolled. */
  client: () => AgentClient | null;
  /** Enrolls this machine (the page's form, offered only while it is not enrolled). */
  enroll: (input: z.infer<typeof enrollInputSchema>) => Promise<void>;
};

export type StatusPage = { url: string; port: number; close(): Promise<void> };

const cookieName = "e3_status";
const jobsRefreshMs = 5000;

class PageError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === cookieName) return value.join("=");
  }
  return undefined;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
    throw new PageError(415, "send JSON (Content-Type: application/json)");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new PageError(413, "the request body is too large");
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
  } catch {
    throw new PageError(400, "the request body is not valid JSON");
  }
}

function messageOf(error: unknown): string {
  if (error instanceof z.ZodError) return error.issues.map((issue) => issue.message).join("; ");
  return error instanceof Error ? error.message : String(error);
}

export async function startStatusPage(options: StatusPageOptions): Promise<StatusPage> {
  const token = randomBytes(32).toString("base64url");
  const alpine = alpineSource();
  let port = 0;
  let jobs: { at: number; value: ListJobsResponse; error: string | null } = {
    at: 0,
    value: { jobs: [], recentRuns: [] },
    error: null,
  };
  let refreshing: Promise<void> | null = null;

  const refreshJobs = async () => {
    const client = options.client();
    if (!client || Date.now() - jobs.at < jobsRefreshMs) return;
    refreshing ??= client
      .call("list_jobs", {}, AbortSignal.timeout(5000))
      .then(
        (value) => {
          jobs = { at: Date.now(), value, error: null };
        },
        (error: unknown) => {
          jobs = { ...jobs, at: Date.now(), error: `the portal did not list this agent's jobs: ${messageOf(error)}` };
        },
      )
      .finally(() => {
        refreshing = null;
      });
    await refreshing;
  };

  const send = (response: ServerResponse, status: number, type: string, body: string, headers = {}) => {
    response.writeHead(status, {
      "content-type": type,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
      // Alpine evaluates its attribute expressions with Function(), hence 'unsafe-eval'; everything is same-origin.
      "content-security-policy":
        "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      ...headers,
    });
    response.end(body);
  };
  const json = (response: ServerResponse, status: number, value: unknown) =>
    send(response, status, "application/json; charset=utf-8", JSON.stringify(value));

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const host = request.headers.host ?? "";
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      throw new PageError(421, "the status page answers only to 127.0.0.1 and localhost");
    }
    const url = new URL(request.url ?? "/", `http://${host}`);
    if (request.method === "GET" && url.pathname === "/" && url.searchParams.has("token")) {
      if (!sameToken(url.searchParams.get("token") ?? undefined, token)) throw new PageError(401, "wrong token");
      send(response, 303, "text/plain; charset=utf-8", "", {
        location: "/",
        "set-cookie": `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    if (!sameToken(cookieToken(request), token) && !sameToken(bearer, token)) {
      throw new PageError(
        401,
        "open the address in status-page.json of the agent's state folder (e3-backup-agent status-page prints it)",
      );
    }
    if (request.method === "POST") {
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`) throw new PageError(403, "cross-origin request refused");
    }
    const route = `${request.method} ${url.pathname}`;
    switch (route) {
      case "GET /":
        return send(response, 200, "text/html; charset=utf-8", pageHtml);
      case "GET /app.js":
        return send(response, 200, "text/javascript; charset=utf-8", pageScript);
      case "GET /alpine.js":
        return send(response, 200, "text/javascript; charset=utf-8", alpine);
      case "GET /page.css":
        return send(response, 200, "text/css; charset=utf-8", pageCss);
      case "GET /favicon.svg":
        return send(response, 200, "image/svg+xml", faviconSvg);
      case "GET /api/status": {
        await refreshJobs();
        return json(response, 200, {
          agent: options.status.snapshot(),
          jobs: jobs.value.jobs,
          recentRuns: jobs.value.recentRuns,
          jobsError: options.client() ? jobs.error : null,
        });
      }
      case "POST /api/run-now": {
        const { jobId } = runNowSchema.parse(await readJson(request));
        const client = options.client();
        if (!client) throw new PageError(409, "this machine is not enrolled yet");
        const result = await client.call("request_run", { jobId }, AbortSignal.timeout(10_000));
        jobs.at = 0;
        return json(response, 200, result);
      }
      case "POST /api/enroll": {
        const input = enrollInputSchema.parse(await readJson(request));
        if (options.client()) throw new PageError(409, "this machine is already enrolled");
        await options.enroll(input);
        jobs.at = 0;
        return json(response, 200, { enrolled: true });
      }
      default:
        throw new PageError(404, `no ${route}`);
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status =
        error instanceof PageError
          ? error.status
          : error instanceof z.ZodError
            ? 400
            : typeof (error as { status?: unknown }).status === "number"
              ? 502
              : 500;
      if (!response.headersSent) json(response, status, { error: { message: messageOf(error) } });
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  port = (server.address() as AddressInfo).port;
  const address = `http://127.0.0.1:${port}/?token=${token}`;
  const file = statusPageFile(options.stateDir);
  await mkdir(options.stateDir, { recursive: true });
  await writeFileAtomically(file, `${JSON.stringify({ url: address, port, token, pid: process.pid }, null, 2)}\n`);
  await options.platform.shareWithDesktopUser(file).catch(() => {});
  return {
    url: address,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
