import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backup } from "../src/archiver/archiver.ts";
import { serveWebdav, type WebdavServer } from "../src/mount/webdav.ts";
import { RepositoryReader } from "../src/repository/reader.ts";
import { initLocalRepository, type Repository } from "../src/repository/repository.ts";
import { restoreSnapshot } from "../src/restore/restorer.ts";
import { listSnapshots, nodeAt, type SnapshotWithId } from "../src/snapshots/browse.ts";
import { fileLayout } from "../src/snapshots/file-content.ts";
import type { LoadOptions, StorageBackend } from "../src/storage/backend.ts";

// The mount's WebDAV server spoken to by a real HTTP client (Node's fetch): PROPFIND walks the whole snapshot and
// every file read back over GET is identical to what restoreSnapshot writes, ranged GETs return the right bytes
// while loading only the blobs they cover, writes are refused, the password is required (Basic or as the first path
// segment), and the server stops when idle or aborted. Snapshots both from us and from restic.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-webdav-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const source = join(dir, "source");
const large = randomBytes(6 * 1024 * 1024 + 5);
let repository: Repository;
let snapshots: SnapshotWithId[];
/** Data loads from packs, counted by a wrapper around the repository's storage. */
let dataLoads = 0;

function counting(storage: StorageBackend): StorageBackend {
  return new Proxy(storage, {
    get(target, property, receiver) {
      if (property === "load") {
        return (handle: Parameters<StorageBackend["load"]>[0], options?: LoadOptions) => {
          if (handle.type === "data") dataLoads++;
          return target.load(handle, options);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

beforeAll(async () => {
  await mkdir(join(source, "docs", "deep"), { recursive: true });
  await writeFile(join(source, "docs", "a report.txt"), "quarterly\n".repeat(1000));
  await writeFile(join(source, "docs", "deep", "ünïcödé 100%.txt"), "odd name");
  await writeFile(join(source, "docs", "empty"), "");
  await writeFile(join(source, "large.bin"), large);
  const repo = join(dir, "repo");
  repository = await initLocalRepository(repo, "pw");
  await backup(repository, { paths: [source] });
  await writeFile(join(source, "docs", "added by restic.txt"), "restic's");
  await run("restic", ["--no-cache", "-r", repo, "backup", source], { env: { ...process.env, RESTIC_PASSWORD: "pw" } });
  const reader = new RepositoryReader(repository.key, repository.storage);
  snapshots = await listSnapshots(reader);
  expect(snapshots).toHaveLength(2);
});

async function serve(layout: "single" | "all", extra: { idleTimeoutMs?: number; signal?: AbortSignal } = {}) {
  const reader = new RepositoryReader(repository.key, counting(repository.storage));
  const lines: string[] = [];
  const server = await serveWebdav({
    reader,
    snapshots: layout === "single" ? [snapshots[1] as SnapshotWithId] : snapshots,
    layout,
    onLog: (line) => lines.push(line),
    ...extra,
  });
  const auth = `Basic ${Buffer.from(`${server.username}:${server.password}`).toString("base64")}`;
  const request = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    fetch(new URL(path, server.url), { ...init, headers: { authorization: auth, ...init.headers } });
  return { server, lines, request };
}

type DavEntry = { href: string; props: Record<string, string>; missing: string[] };

function parseMultistatus(xml: string): DavEntry[] {
  return [...xml.matchAll(/<D:response>([\s\S]*?)<\/D:response>/g)].map(([, body = ""]) => {
    const href = /<D:href>([^<]*)<\/D:href>/.exec(body)?.[1] ?? "";
    const props: Record<string, string> = {};
    const missing: string[] = [];
    for (const [, stat = ""] of body.matchAll(/<D:propstat>([\s\S]*?)<\/D:propstat>/g)) {
      const ok = stat.includes("200 OK");
      const inside = /<D:prop>([\s\S]*)<\/D:prop>/.exec(stat)?.[1] ?? "";
      for (const [, name = "", value = ""] of inside.matchAll(
        /<(?:\w+:)?(\w+)(?:\s[^>]*)?(?:\/>|>([\s\S]*?)<\/(?:\w+:)?\1>)/g,
      )) {
        if (ok) props[name] = value;
        else missing.push(name);
      }
    }
    return { href, props, missing };
  });
}

const fromXml = (text: string) => text.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");

describe("mount over WebDAV", () => {
  let single: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    single = await serve("single");
  });
  afterAll(() => single.server.close());

  it("serves every file of the snapshot identical to a restore", async () => {
    const target = join(dir, "restored");
    await restoreSnapshot(repository, snapshots[1] as SnapshotWithId, { target });
    const files: { path: string; size: number }[] = [];
    const walk = async (href: string): Promise<void> => {
      const response = await single.request(href, { method: "PROPFIND", headers: { depth: "1" } });
      expect(response.status).toBe(207);
      const [self, ...children] = parseMultistatus(await response.text());
      expect(fromXml(self?.href ?? "")).toBe(href);
      for (const child of children) {
        const childHref = fromXml(child.href);
        if (child.props.resourcetype?.includes("collection")) await walk(childHref);
        else files.push({ path: decodeURIComponent(childHref), size: Number(child.props.getcontentlength) });
        expect(child.props.getlastmodified).toMatch(/GMT$/);
        expect(
          decodeURIComponent(childHref)
            .replace(/\/$/, "")
            .endsWith(`/${fromXml(child.props.displayname ?? "")}`),
        ).toBe(true);
      }
    };
    await walk("/");
    expect(files.map((file) => file.path).sort()).toEqual(
      ["a report.txt", "added by restic.txt", "deep/ünïcödé 100%.txt", "empty"]
        .map((name) => `${source}/docs/${name}`)
        .concat(`${source}/large.bin`)
        .sort(),
    );
    for (const file of files) {
      const restored = await readFile(join(target, file.path));
      const response = await single.request(file.path.split("/").map(encodeURIComponent).join("/"));
      expect(response.status).toBe(200);
      expect(Number(response.headers.get("content-length"))).toBe(restored.length);
      expect(Buffer.from(await response.arrayBuffer()).equals(restored)).toBe(true);
      expect(file.size).toBe(restored.length);
    }
  });

  it.each([
    { range: "bytes=0-0", start: 0, end: 1 },
    { range: "bytes=1048576-1048675", start: 1048576, end: 1048676 },
    { range: "bytes=-10", start: large.length - 10, end: large.length },
    { range: `bytes=${large.length - 3}-`, start: large.length - 3, end: large.length },
    { range: "bytes=5000000-99999999", start: 5000000, end: large.length },
  ])("answers $range with 206 and only the blobs it covers", async ({ range, start, end }) => {
    // A server of its own: another's blob cache would already hold what the range needs.
    const fresh = await serve("single");
    const path = `${source}/large.bin`;
    await fresh.request(path, { method: "HEAD" });
    dataLoads = 0;
    const response = await fresh.request(path, { headers: { range } });
    const body = Buffer.from(await response.arrayBuffer());
    await fresh.server.close();
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe(`bytes ${start}-${end - 1}/${large.length}`);
    expect(body.equals(large.subarray(start, end))).toBe(true);
    // Exactly the chunks that overlap the range were loaded, each once (pack loads are one per blob), of the file's
    // several.
    const reader = new RepositoryReader(repository.key, repository.storage);
    const { node } = await nodeAt(reader, snapshots[1] as SnapshotWithId, path);
    const layout = await fileLayout(reader, node as NonNullable<typeof node>);
    const covering = layout.blobs.filter((blob) => blob.start < end && blob.start + blob.length > start);
    expect(layout.blobs.length).toBeGreaterThan(covering.length);
    expect(dataLoads).toBe(covering.length);
  });

  it("refuses ranges outside the file and HEAD sends no body", async () => {
    const path = `${source}/large.bin`;
    const outside = await single.request(path, { headers: { range: `bytes=${large.length}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get("content-range")).toBe(`bytes */${large.length}`);
    const head = await single.request(path, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(large.length));
    expect(head.headers.get("accept-ranges")).toBe("bytes");
    expect(await head.text()).toBe("");
  });

  it("answers OPTIONS, refuses writes and infinite depth, and gives a lock that guards nothing", async () => {
    const options = await fetch(new URL("/", single.server.url), { method: "OPTIONS" });
    expect(options.status).toBe(200);
    expect(options.headers.get("dav")).toBe("1, 2");
    expect(options.headers.get("allow")).toContain("PROPFIND");
    for (const method of ["PUT", "DELETE", "MKCOL", "MOVE", "COPY", "PROPPATCH"]) {
      const response = await single.request(`${source}/docs/a%20report.txt`, {
        method,
        body: method === "PUT" ? "x" : null,
      });
      expect(response.status, method).toBe(403);
    }
    expect((await single.request("/", { method: "REPORT" })).status).toBe(405);
    const infinite = await single.request("/", { method: "PROPFIND" });
    expect(infinite.status).toBe(403);
    expect(await infinite.text()).toContain("propfind-finite-depth");
    const lock = await single.request(`${source}/docs/a%20report.txt`, {
      method: "LOCK",
      body: "<?xml version='1.0'?><D:lockinfo xmlns:D='DAV:'/>",
    });
    expect(lock.status).toBe(200);
    expect(lock.headers.get("lock-token")).toMatch(/^<opaquelocktoken:/);
    const unlock = await single.request(`${source}/docs/a%20report.txt`, {
      method: "UNLOCK",
      headers: { "lock-token": lock.headers.get("lock-token") ?? "" },
    });
    expect(unlock.status).toBe(204);
    // The file is unchanged after all of that.
    expect(await (await single.request(`${source}/docs/a%20report.txt`)).text()).toBe("quarterly\n".repeat(1000));
  });

  it("answers the properties asked for, and names the unknown ones 404", async () => {
    const body = `<?xml version="1.0"?><propfind xmlns="DAV:" xmlns:z="urn:schemas-microsoft-com:" xmlns:o="urn:other">
      <prop><getcontentlength/><z:Win32FileAttributes/><o:color/></prop></propfind>`;
    const response = await single.request(`${source}/docs/empty`, {
      method: "PROPFIND",
      headers: { depth: "0" },
      body,
    });
    expect(response.status).toBe(207);
    const [entry] = parseMultistatus(await response.text());
    expect(entry?.props).toEqual({ getcontentlength: "0", Win32FileAttributes: "00000001" });
    expect(entry?.missing).toEqual(["color"]);
    const bad = await single.request("/", { method: "PROPFIND", headers: { depth: "0" }, body: "<nope" });
    expect(bad.status).toBe(400);
    const missing = await single.request(`${source}/nothing-here`, { method: "PROPFIND", headers: { depth: "0" } });
    expect(missing.status).toBe(404);
  });

  it("needs the password, as Basic auth or as the first path segment, and never logs it", async () => {
    const url = new URL(`${source}/docs/empty`, single.server.url);
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Basic /);
    // The bare root answers a Depth 0 probe (Windows walks up the path) with nothing in it, and Depth 1 needs auth.
    const probe = await fetch(single.server.url, { method: "PROPFIND", headers: { depth: "0" } });
    expect(probe.status).toBe(207);
    expect(parseMultistatus(await probe.text()).map((entry) => entry.href)).toEqual(["/"]);
    expect((await fetch(single.server.url, { method: "PROPFIND", headers: { depth: "1" } })).status).toBe(401);
    const wrong = await fetch(url, {
      headers: { authorization: `Basic ${Buffer.from("e3:guess").toString("base64")}` },
    });
    expect(wrong.status).toBe(401);
    const token = await fetch(new URL(`${source.slice(1)}/docs/a%20report.txt`, single.server.tokenUrl));
    expect(token.status).toBe(200);
    expect(await token.text()).toBe("quarterly\n".repeat(1000));
    const listing = await fetch(new URL(`${source.slice(1)}/docs/`, single.server.tokenUrl), {
      method: "PROPFIND",
      headers: { depth: "1" },
    });
    const hrefs = parseMultistatus(await listing.text()).map((entry) => entry.href);
    expect(hrefs.every((href) => href.startsWith(new URL(single.server.tokenUrl).pathname))).toBe(true);
    expect(single.lines.length).toBeGreaterThan(10);
    expect(single.lines.join("\n")).not.toContain(single.server.password);
  });

  it("is read by Debian's cadaver: listing and downloads identical to the snapshot", async () => {
    const out = join(dir, "cadaver-large.bin");
    const script = [`cd ${source.slice(1)}`, "ls docs", `get large.bin ${out}`, "quit", ""].join("\n");
    const child = execFile("cadaver", [single.server.tokenUrl], { env: { ...process.env, HOME: dir } });
    child.stdin?.end(script);
    let stdout = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
    });
    const [status] = await once(child, "close");
    expect(status).toBe(0);
    expect(stdout).toMatch(/a report\.txt\s+10000/);
    expect(stdout).toMatch(/Coll:\s+deep/);
    expect((await readFile(out)).equals(large)).toBe(true);
  });

  it("lays out every snapshot by time and id", async () => {
    const all = await serve("all");
    try {
      const root = parseMultistatus(
        await (await all.request("/", { method: "PROPFIND", headers: { depth: "1" } })).text(),
      );
      expect(root.map((entry) => entry.href)).toEqual(["/", "/ids/", "/snapshots/"]);
      const times = parseMultistatus(
        await (await all.request("/snapshots/", { method: "PROPFIND", headers: { depth: "1" } })).text(),
      ).map((entry) => entry.href);
      expect(times).toHaveLength(4);
      expect(times.at(-1)).toBe("/snapshots/latest/");
      expect(times[1]).toMatch(/^\/snapshots\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?\/$/);
      const first = (times[1] as string) + source.slice(1).split("/").map(encodeURIComponent).join("/");
      expect((await all.request(`${first}/docs/added%20by%20restic.txt`)).status).toBe(404);
      expect((await all.request(`/snapshots/latest${source}/docs/added%20by%20restic.txt`)).status).toBe(200);
      const id = (snapshots[0] as SnapshotWithId).id.slice(0, 8);
      expect(await (await all.request(`/ids/${id}${source}/docs/empty`)).text()).toBe("");
    } finally {
      await all.server.close();
    }
  });

  it("answers 500 with the reason when a file's data is gone from the repository", async () => {
    const folder = join(dir, "doomed");
    await mkdir(folder);
    await writeFile(join(folder, "lost.txt"), "this pack will be deleted");
    const doomed = await initLocalRepository(join(dir, "doomed-repo"), "pw");
    const { snapshot, snapshotId } = await backup(doomed, { paths: [folder] });
    // Only the pack that holds the file's content: its folder still lists, its bytes cannot be read.
    const reader = new RepositoryReader(doomed.key, doomed.storage);
    const { node } = await nodeAt(reader, snapshot, `${folder}/lost.txt`);
    const index = await reader.index();
    const pack = index.get(node?.content?.[0] ?? "")?.pack ?? "";
    const treePacks = [...index.values()].filter((blob) => blob.type === "tree").map((blob) => blob.pack);
    expect(treePacks).not.toContain(pack);
    await doomed.storage.remove({ type: "data", name: pack });
    const server = await serveWebdav({
      reader: new RepositoryReader(doomed.key, doomed.storage),
      snapshots: [{ ...snapshot, id: snapshotId }],
      layout: "single",
      password: "a-known-password",
    });
    try {
      const response = await fetch(new URL(`a-known-password${folder}/lost.txt`, server.url));
      expect(response.status).toBe(500);
      expect(await response.text()).toMatch(/^cannot read this file from the repository: .* does not exist/);
      // The folder above it still lists.
      const folderListing = await fetch(new URL(`a-known-password${folder}/`, server.url), {
        method: "PROPFIND",
        headers: { depth: "1" },
      });
      expect(folderListing.status).toBe(207);
    } finally {
      await server.close();
    }
  });

  it("stops after the idle timeout, and when aborted", async () => {
    const idle = await serve("single", { idleTimeoutMs: 300 });
    expect((await idle.request("/", { method: "OPTIONS" })).status).toBe(200);
    expect(await idle.server.closed).toBe("idle");
    await expect(fetch(idle.server.url)).rejects.toThrow();
    const controller = new AbortController();
    const aborted: WebdavServer = (await serve("single", { signal: controller.signal })).server;
    controller.abort();
    expect(await aborted.closed).toBe("aborted");
  });
});
