// Go's encoding/json string and raw-message output, reproduced so that our JSON bytes (and therefore tree ids) equal
// restic's for the same content (engine-reference §1.9 "deterministic-encoding rules"):
// * `"` and `\` escaped; \n \r \t \b \f short (Go ≥ 1.22 — restic builds older than that, e.g. Debian's 0.14 on
//   Go 1.19, wrote \u0008 and \u000c); every other control character as \u00XX with lower-case hex;
// * HTML-safe: <, >, & as \u003c, \u003e, \u0026; U+2028 and U+2029 as \u2028, \u2029;
// * bytes that are not valid UTF-8 become \ufffd, one per byte (utf8.DecodeRune consumes one byte on error);
// * everything else, including DEL and all other non-ASCII, is written as is (UTF-8).

import { isUtf8 } from "node:buffer";
import { decodeRune } from "./go-quote.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters Go's encoder escapes.
const needsEscape = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;
const hex = "0123456789abcdef";

function escapeUnit(code: number): string {
  switch (code) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return "\\\\";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    default:
      return `\\u${hex[code >> 12]}${hex[(code >> 8) & 15]}${hex[(code >> 4) & 15]}${hex[code & 15]}`;
  }
}

/** A JS string as Go's json.Marshal writes a string, quotes included. */
export function goJsonString(value: string): string {
  if (!needsEscape.test(value)) return `"${value}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    let replacement: string | undefined;
    if (code < 0x20 || code === 0x22 || code === 0x5c || code === 0x3c || code === 0x3e || code === 0x26) {
      replacement = escapeUnit(code);
    } else if (code === 0x2028 || code === 0x2029) {
      replacement = escapeUnit(code);
    } else if (code >= 0xd800 && code <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a proper surrogate pair: one astral character, written as is
        continue;
      }
      replacement = "\\ufffd"; // a lone surrogate is no character; Go would see invalid UTF-8 here
    }
    if (replacement !== undefined) {
      out += value.slice(start, i) + replacement;
      start = i + 1;
    }
  }
  return `${out}${value.slice(start)}"`;
}

/** Bytes (a Go string holding arbitrary bytes, e.g. a symlink target) as Go's json.Marshal writes them. */
export function goJsonBytes(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return goJsonString(buffer.toString("utf8"));
  let out = '"';
  for (let i = 0; i < buffer.length; ) {
    const rune = decodeRune(buffer, i);
    if (rune === null) {
      out += "\\ufffd";
      i += 1;
    } else {
      out += goJsonString(String.fromCodePoint(rune.codePoint)).slice(1, -1);
      i += rune.length;
    }
  }
  return `${out}"`;
}

const whitespace = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * A json.RawMessage as Go's Marshal writes it: compacted (whitespace outside strings removed) with the HTML
 * characters and U+2028/2029 inside strings escaped; everything else, escapes included, is kept verbatim.
 * `raw` must be valid JSON (checked by the caller).
 */
export function compactGoJson(raw: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) {
        out += raw.slice(i, i + 2);
        i++;
        continue;
      }
      if (code === 0x22) inString = false;
      out +=
        code === 0x3c || code === 0x3e || code === 0x26 || code === 0x2028 || code === 0x2029
          ? escapeUnit(code)
          : raw[i];
    } else if (!whitespace.has(code)) {
      if (code === 0x22) inString = true;
      out += raw[i];
    }
  }
  return out;
}

/** A number kept as its JSON source text (64-bit integers and exact re-encoding both need the digits). */
export class JsonNumber {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

/** Parses JSON keeping every number as a JsonNumber (JSON.parse's reviver gives each number's source text). */
export function parseJsonKeepingNumbers(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === "number" ? new JsonNumber(context?.source ?? String(value)) : value,
  );
}

/** Writes a value from parseJsonKeepingNumbers back the way Go writes the raw message it came from. */
export function stringifyGoJson(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof JsonNumber) return value.source;
  if (typeof value === "string") return goJsonString(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map(stringifyGoJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([key, item]) => `${goJsonString(key)}:${stringifyGoJson(item)}`).join(",")}}`;
  }
  throw new TypeError(`cannot write ${typeof value} as JSON`);
}
