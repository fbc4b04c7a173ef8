import type { IncomingMessage, ServerResponse } from "node:http";
import { XmlError } from "./xml.ts";

// HTTP plumbing of the WebDAV share: Range headers, back-pressure, and bounded request bodies.

/** A Range header against a size: the byte span, "none" without one, "unsatisfiable", or "ignore" (many ranges). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | string {
  if (!header) return "none";
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return header.includes(",") ? "ignore" : "unsatisfiable";
  const [, from = "", to = ""] = match;
  if (from === "" && to === "") return "unsatisfiable";
  if (from === "") {
    const suffix = Math.min(Number(to), size);
    return suffix === 0 ? "unsatisfiable" : { start: size - suffix, end: size };
  }
  const start = Number(from);
  const end = to === "" ? size : Math.min(Number(to) + 1, size);
  return start >= size || end <= start ? "unsatisfiable" : { start, end };
}

/** Until the response can take more, or the client is gone. */
export function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}

export async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) throw new XmlError(`the request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
