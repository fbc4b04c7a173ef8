import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EngineError, isEngineError } from "../errors.ts";
import type { RepositoryReader } from "../repository/reader.ts";
import type { SnapshotWithId } from "../snapshots/browse.ts";
import { BlobCache, fileLayout, layoutFromIndex, readFileRange } from "../snapshots/file-content.ts";
import { TreeCache } from "../snapshots/tree-cache.ts";
import { etagOf, hrefOf, httpDate, msNs, propertiesXml } from "./dav-properties.ts";
import { drained, parseRange, readBody } from "./http.ts";
import { type MountItem, MountNamespace } from "./namespace.ts";
import { escapeXml, type PropfindRequest, parsePropfind, XmlError } from "./xml.ts";

// Snapshots as a read-only WebDAV share on 127.0.0.1 (RFC 4918 class 1 and 2), so Windows maps it as a drive
// (`net use`), macOS's Finder and Linux's davfs2/gvfs mount it, and any HTTP client reads files by range. Ranged GETs
// fetch only the blobs the range covers. Every request needs the random password: as Basic auth, or as the first
// path segment for clients that will not send Basic auth over plain HTTP (Windows' WebClient by default). Writes are
// refused; LOCK answers with a lock that guards nothing (Windows and Office ask for one before reading), so class 2
// can be advertised. The server stops after an idle timeout, on its signal, or on close(); it logs requests without
// the password.

export type WebdavOptions = {
  reader: RepositoryReader;
  /** What to serve: one snapshot at the root, or all of them as /snapshots/<time>/…, /ids/<id>/…. */
  snapshots: SnapshotWithId[];
  layout: "single" | "all";
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback only by default; another address exposes the snapshots to the network. */
  host?: string;
  username?: string;
  /** Random (24 bytes, base64url) when not given. */
  password?: string;
  /** Stops the server after this long without a request (30 min); 0 never. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** One line per request (method, path, status) and per problem; never the password. */
  onLog?: (line: string) => void;
};

export type WebdavServer = {
  url: string;
  /** The URL with the password as its first segment, for clients that cannot send Basic auth over HTTP. */
  tokenUrl: string;
  username: string;
  password: string;
  /** Resolves with why the server stopped. */
  closed: Promise<"idle" | "aborted" | "closed">;
  close(): Promise<void>;
};

const allow = "OPTIONS, GET, HEAD, PROPFIND, LOCK, UNLOCK";
const writeMethods = new Set(["PUT", "DELETE", "MKCOL", "COPY", "MOVE", "PROPPATCH", "POST", "PATCH"]);

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

class Handler {
  readonly #namespace: MountNamespace;
  readonly #reader: RepositoryReader;
  readonly #blobs: BlobCache;
  readonly #username: Buffer;
  readonly #password: string;
  readonly #passwordDigest: Buffer;
  readonly #log: (line: string) => void;

  constructor(options: WebdavOptions, username: string, password: string) {
    this.#reader = options.reader;
    this.#namespace = new MountNamespace(new TreeCache(options.reader), options.snapshots, options.layout);
    this.#blobs = new BlobCache(options.reader);
    this.#username = digest(username);
    this.#password = password;
    this.#passwordDigest = digest(password);
    this.#log = options.onLog ?? (() => {});
  }

  #basicAuthOk(header: string | undefined): boolean {
    if (!header?.startsWith("Basic ")) return false;
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), this.#username);
    const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), this.#passwordDigest);
    return userOk && passwordOk;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? "GET").toUpperCase();
    const rawPath = (request.url ?? "/").split("?")[0] ?? "/";
    let segments: string[];
    try {
      segments = rawPath
        .split("/")
        .filter((segment) => segment !== "")
        .map((segment) => decodeURIComponent(segment));
    } catch {
      return this.#finish(request, response, method, "(bad path)", 400, "the path is not valid percent-encoding");
    }
    if (segments.some((segment) => segment === "." || segment === ".." || segment.includes("/"))) {
      return this.#finish(request, response, method, "(bad path)", 400, "the path must not hold . or .. segments");
    }
    // The password as the first segment authorises like Basic auth; hrefs in answers then keep that prefix.
    let prefix = "";
    let authorised = this.#basicAuthOk(request.headers.authorization);
    const first = segments[0];
    if (first !== undefined && timingSafeEqual(digest(first), this.#passwordDigest)) {
      authorised = true;
      prefix = `/${encodeURIComponent(first)}`;
      segments = segments.slice(1);
    }
    const shown = `/${segments.join("/")}`;
    response.setHeader("DAV", "1, 2");
    response.setHeader("MS-Author-Via", "DAV");
    if (method === "OPTIONS") {
      response.setHeader("Allow", allow);
      return this.#finish(request, response, method, shown, 200);
    }
    // Windows' WebClient walks up the path before it connects, so the bare server root answers a Depth 0 PROPFIND
    // without the password (it reveals nothing: an empty collection, no children).
    const rootProbe = method === "PROPFIND" && segments.length === 0 && request.headers.depth === "0";
    if (!authorised && rootProbe) {
      return this.#propfind(request, response, this.#namespace.emptyRoot(), "", [], shown);
    }
    if (!authorised) {
      response.setHeader("WWW-Authenticate", 'Basic realm="e3 snapshots", charset="UTF-8"');
      return this.#finish(request, response, method, shown, 401, "the password printed by mount is needed");
    }
    if (writeMethods.has(method)) {
      response.setHeader("Allow", allow);
      return this.#finish(request, response, method, shown, 403, "snapshots are read-only");
    }
    const item = await this.#namespace.resolve(segments);
    if (method === "UNLOCK") return this.#finish(request, response, method, shown, item ? 204 : 404);
    if (!item) return this.#finish(request, response, method, shown, 404, "not in the snapshot");
    switch (method) {
      case "PROPFIND":
        return this.#propfind(request, response, item, prefix, segments, shown);
      case "GET":
      case "HEAD":
        return this.#get(request, response, method, item, prefix, segments, shown);
      case "LOCK":
        return this.#lock(request, response, shown, prefix, segments, item);
      default:
        response.setHeader("Allow", allow);
        return this.#finish(request, response, method, shown, 405, `${method} is not supported`);
    }
  }

  #finish(
    request: IncomingMessage,
    response: ServerResponse,
    method: string,
    shown: string,
    status: number,
    message = "",
  ): void {
    if (!response.headersSent) {
      response.statusCode = status;
      if (message && method !== "HEAD") {
        response.setHeader("Content-Type", "text/plain; charset=utf-8");
        response.end(`${message}\n`);
      } else response.end();
    } else response.end();
    // Drain what the client sent so the connection can be reused.
    request.resume();
    this.#log(`${method} ${shown} ${status}`);
  }

  async #propfind(
    request: IncomingMessage,
    response: ServerResponse,
    item: MountItem,
    prefix: string,
    segments: string[],
    shown: string,
  ): Promise<void> {
    const depth = (request.headers.depth ?? "infinity").toString().toLowerCase();
    if (depth !== "0" && depth !== "1") {
      response.statusCode = 403;
      response.setHeader("Content-Type", 'application/xml; charset="utf-8"');
      response.end(
        '<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>\n',
      );
      request.resume();
      this.#log(`PROPFIND ${shown} 403 (depth ${depth})`);
      return;
    }
    let asked: PropfindRequest;
    try {
      asked = parsePropfind(await readBody(request, 1024 * 1024));
    } catch (error) {
      if (!(error instanceof XmlError)) throw error;
      return this.#finish(request, response, "PROPFIND", shown, 400, error.message);
    }
    const index = await this.#reader.index();
    const contentLength = (entry: MountItem) =>
      entry.kind === "file" ? layoutFromIndex(index, entry.node).size : undefined;
    response.statusCode = 207;
    response.setHeader("Content-Type", 'application/xml; charset="utf-8"');
    // Streamed in pieces of about 64 KiB: a folder of 100 000 files never becomes one string, and a slow client
    // holds back the listing instead of filling memory.
    let pending = `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:" xmlns:Z="${msNs}">\n`;
    pending += propertiesXml(item, hrefOf(prefix, segments, item.kind === "dir"), asked, contentLength(item));
    if (depth === "1" && item.kind === "dir") {
      for (const child of await this.#namespace.list(item)) {
        pending += propertiesXml(
          child,
          hrefOf(prefix, [...segments, child.name], child.kind === "dir"),
          asked,
          contentLength(child),
        );
        if (pending.length < 64 * 1024) continue;
        if (!response.write(pending)) await drained(response);
        pending = "";
        if (response.destroyed) return;
      }
    }
    response.end(`${pending}</D:multistatus>\n`);
    this.#log(`PROPFIND ${shown} 207 (depth ${depth})`);
  }

  async #get(
    request: IncomingMessage,
    response: ServerResponse,
    method: string,
    item: MountItem,
    prefix: string,
    segments: string[],
    shown: string,
  ): Promise<void> {
    response.setHeader("Last-Modified", httpDate(item.mtime));
    response.setHeader("ETag", etagOf(item));
    if (item.kind === "dir") {
      const rows = (await this.#namespace.list(item))
        .map((child) => {
          const href = hrefOf(prefix, [...segments, child.name], child.kind === "dir");
          const label = `${child.name}${child.kind === "dir" ? "/" : ""}`;
          return `<li><a href="${escapeXml(href)}">${escapeXml(label)}</a></li>`;
        })
        .join("\n");
      response.setHeader("Content-Type", "text/html; charset=utf-8");
      response.statusCode = 200;
      response.end(
        method === "HEAD" ? undefined : `<!doctype html>\n<title>${escapeXml(shown)}</title>\n<ul>\n${rows}\n</ul>\n`,
      );
      this.#log(`${method} ${shown} 200`);
      return;
    }
    const layout = await fileLayout(this.#reader, item.node);
    response.setHeader("Accept-Ranges", "bytes");
    response.setHeader("Content-Type", "application/octet-stream");
    const ifRange = request.headers["if-range"];
    const range = ifRange && ifRange !== etagOf(item) ? "none" : parseRange(request.headers.range, layout.size);
    if (range === "unsatisfiable") {
      response.setHeader("Content-Range", `bytes */${layout.size}`);
      return this.#finish(request, response, method, shown, 416, "the range is outside the file");
    }
    const span = typeof range === "string" ? { start: 0, end: layout.size } : range;
    response.statusCode = typeof range === "string" ? 200 : 206;
    if (typeof range !== "string")
      response.setHeader("Content-Range", `bytes ${span.start}-${span.end - 1}/${layout.size}`);
    response.setHeader("Content-Length", String(span.end - span.start));
    if (method === "HEAD") return this.#finish(request, response, method, shown, response.statusCode);
    const gone = new AbortController();
    response.on("close", () => gone.abort(new Error("the client went away")));
    try {
      for await (const piece of readFileRange(this.#blobs, layout, span.start, span.end, { signal: gone.signal })) {
        if (!response.write(piece)) await drained(response);
      }
      response.end();
      this.#log(`${method} ${shown} ${response.statusCode} (${span.end - span.start} bytes)`);
    } catch (error) {
      if (gone.signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      this.#log(`${method} ${shown}: ${message}`);
      if (!response.headersSent) {
        // Nothing sent yet: a clear error instead of a file cut short.
        response.removeHeader("Content-Range");
        response.removeHeader("Content-Length");
        return this.#finish(
          request,
          response,
          method,
          shown,
          500,
          `cannot read this file from the repository: ${message}`,
        );
      }
      // Headers are out: the only honest signal left is a connection cut short of Content-Length.
      response.destroy();
    }
  }

  #lock(
    request: IncomingMessage,
    response: ServerResponse,
    shown: string,
    prefix: string,
    segments: string[],
    item: MountItem,
  ): void {
    // Nothing can be written, so a lock guards nothing; clients that insist on one before opening a file get it.
    const token = `opaquelocktoken:${randomUUID()}`;
    const href = escapeXml(hrefOf(prefix, segments, item.kind === "dir"));
    response.statusCode = 200;
    response.setHeader("Content-Type", 'application/xml; charset="utf-8"');
    response.setHeader("Lock-Token", `<${token}>`);
    response.end(
      `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery><D:activelock>` +
        "<D:locktype><D:write/></D:locktype><D:lockscope><D:exclusive/></D:lockscope><D:depth>0</D:depth>" +
        `<D:timeout>Second-3600</D:timeout><D:locktoken><D:href>${token}</D:href></D:locktoken>` +
        `<D:lockroot><D:href>${href}</D:href></D:lockroot></D:activelock></D:lockdiscovery></D:prop>\n`,
    );
    request.resume();
    this.#log(`LOCK ${shown} 200 (a lock that guards nothing: the share is read-only)`);
  }

  /** For the URL printed to users. */
  get password(): string {
    return this.#password;
  }
}

/** Starts the server; resolves once it listens. */
export async function serveWebdav(options: WebdavOptions): Promise<WebdavServer> {
  options.signal?.throwIfAborted();
  const username = options.username ?? "e3";
  const password = options.password ?? randomBytes(24).toString("base64url");
  if (password.length < 8 || password.includes("/")) {
    throw new EngineError("INVALID_ARGUMENT", "the mount password must be at least 8 characters and hold no /");
  }
  const handler = new Handler(options, username, password);
  const log = options.onLog ?? (() => {});
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let stop: (why: "idle" | "aborted" | "closed") => void = () => {};
  const closed = new Promise<"idle" | "aborted" | "closed">((resolve) => {
    stop = (why) => {
      clearTimeout(idleTimer);
      options.signal?.removeEventListener("abort", onAbort);
      server.close(() => resolve(why));
      server.closeAllConnections();
    };
  });
  const idleMs = options.idleTimeoutMs ?? 30 * 60 * 1000;
  const armIdle = () => {
    clearTimeout(idleTimer);
    if (idleMs > 0 && active === 0) {
      idleTimer = setTimeout(() => {
        log(`no request for ${Math.round(idleMs / 1000)} s: stopping`);
        stop("idle");
      }, idleMs);
    }
  };
  const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    active++;
    clearTimeout(idleTimer);
    response.on("close", () => {
      active--;
      armIdle();
    });
    handler.handle(request, response).catch((error: unknown) => {
      const status = isEngineError(error, "PATH_NOT_FOUND") ? 404 : 500;
      log(`${request.method} failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) {
        response.statusCode = status;
        response.setHeader("Content-Type", "text/plain; charset=utf-8");
        response.end(`${error instanceof Error ? error.message : String(error)}\n`);
      } else response.destroy();
    });
  });
  const onAbort = () => stop("aborted");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  server.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  await Promise.race([
    once(server, "listening"),
    once(server, "error").then(([error]) => {
      throw new EngineError(
        "INVALID_ARGUMENT",
        `cannot listen on port ${options.port ?? 0}: ${(error as Error).message}`,
      );
    }),
  ]);
  armIdle();
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/`;
  return {
    url,
    tokenUrl: `${url}${encodeURIComponent(handler.password)}/`,
    username,
    password,
    closed,
    close: async () => {
      stop("closed");
      await closed;
    },
  };
}
