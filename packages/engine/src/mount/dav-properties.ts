import { createHash } from "node:crypto";
import type { MountItem } from "./namespace.ts";
import { escapeXml, type PropertyName, type PropfindRequest } from "./xml.ts";

// The WebDAV properties of a mounted item (RFC 4918 section 15, plus the Win32 ones Windows' WebClient reads), and the
// dates, entity tags and hrefs the handler also sends as headers.

export const davNs = "DAV:";
export const msNs = "urn:schemas-microsoft-com:";

export function httpDate(goTime: string): string {
  const ms = Date.parse(goTime);
  return new Date(Number.isNaN(ms) ? 0 : ms).toUTCString();
}

export function isoDate(goTime: string): string {
  const ms = Date.parse(goTime);
  return new Date(Number.isNaN(ms) ? 0 : ms).toISOString();
}

export function etagOf(item: MountItem): string {
  return `"${createHash("sha256").update(item.etag).digest("hex").slice(0, 32)}"`;
}

export function hrefOf(prefix: string, segments: string[], isDir: boolean): string {
  const path = segments.map((segment) => encodeURIComponent(segment)).join("/");
  const joined = `${prefix}/${path}`;
  return isDir && !joined.endsWith("/") ? `${joined}/` : joined;
}

/**
 * One <D:response> of a multistatus: the properties a PROPFIND asked for (or all DAV: ones, or their names), and
 * the names it asked for that this share does not have. `contentLength` is given for files.
 */
export function propertiesXml(
  item: MountItem,
  href: string,
  request: PropfindRequest,
  contentLength: number | undefined,
): string {
  const isDir = item.kind === "dir";
  const known = new Map<string, string>();
  const dav = (local: string, value: string) => known.set(`${davNs}\0${local}`, `<D:${local}>${value}</D:${local}>`);
  dav("displayname", escapeXml(item.name));
  dav("resourcetype", isDir ? "<D:collection/>" : "");
  dav("getlastmodified", httpDate(item.mtime));
  dav("creationdate", isoDate(item.mtime));
  dav("getetag", escapeXml(etagOf(item)));
  if (contentLength !== undefined) {
    dav("getcontentlength", String(contentLength));
    dav("getcontenttype", "application/octet-stream");
  }
  dav(
    "supportedlock",
    "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>",
  );
  dav("lockdiscovery", "");
  // Windows reads these; read-only (1), plus directory (16) for folders.
  known.set(
    `${msNs}\0Win32FileAttributes`,
    `<Z:Win32FileAttributes>${isDir ? "00000011" : "00000001"}</Z:Win32FileAttributes>`,
  );
  known.set(
    `${msNs}\0Win32LastModifiedTime`,
    `<Z:Win32LastModifiedTime>${httpDate(item.mtime)}</Z:Win32LastModifiedTime>`,
  );
  known.set(`${msNs}\0Win32CreationTime`, `<Z:Win32CreationTime>${httpDate(item.mtime)}</Z:Win32CreationTime>`);
  let found: string;
  let missing = "";
  if (request.kind === "allprop") {
    found = [...known]
      .filter(([key]) => key.startsWith(davNs))
      .map(([, xml]) => xml)
      .join("");
  } else if (request.kind === "propname") {
    found = [...known.keys()]
      .map((key) => {
        const [ns, local] = key.split("\0") as [string, string];
        return ns === davNs ? `<D:${local}/>` : `<Z:${local}/>`;
      })
      .join("");
  } else {
    const parts: string[] = [];
    const absent: PropertyName[] = [];
    for (const name of request.names) {
      const xml = known.get(`${name.ns}\0${name.local}`);
      if (xml) parts.push(xml);
      else absent.push(name);
    }
    found = parts.join("");
    missing = absent.map((name) => `<X:${escapeXml(name.local)} xmlns:X="${escapeXml(name.ns)}"/>`).join("");
  }
  const ok = `<D:propstat><D:prop>${found}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>`;
  const notFound = missing
    ? `<D:propstat><D:prop>${missing}</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>`
    : "";
  return `<D:response><D:href>${escapeXml(href)}</D:href>${ok}${notFound}</D:response>\n`;
}
