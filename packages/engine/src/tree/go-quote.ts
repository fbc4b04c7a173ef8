import { EngineError } from "../errors.ts";
import { goPrintableRanges } from "./go-printable.ts";

// restic stores a node's name as Go's strconv.Quote(name) with the outer quotes stripped (restic's
// Node.MarshalJSON), so any byte sequence survives JSON: printable characters stay, `"` and `\` are escaped, the
// control characters \a \b \f \n \r \t \v get their short escapes, other bytes below 0x20 and DEL become \xNN,
// other non-printable characters \uXXXX or \UXXXXXXXX, and every byte that is not part of valid UTF-8 \xNN.
// Reading reverses it with strconv.Unquote. Names are therefore bytes (Buffer) on our side, never JS strings.
//
// "Printable" is Go's strconv.IsPrint (categories L, M, N, P, S plus the ASCII space), taken from Go's own tables
// (go-printable.ts) rather than the JavaScript engine's, whose Unicode version is newer: a character assigned after
// Go's Unicode version is escaped by restic, so it must be escaped by us too.

/** Go's strconv.IsPrint, by binary search over the generated ranges. */
export function isGoPrintable(codePoint: number): boolean {
  let low = 0;
  let high = goPrintableRanges.length / 2 - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (codePoint < goPrintableRanges[2 * middle]!) high = middle - 1;
    else if (codePoint > goPrintableRanges[2 * middle + 1]!) low = middle + 1;
    else return true;
  }
  return false;
}
const shortEscapes: Record<number, string> = {
  7: "\\a",
  8: "\\b",
  12: "\\f",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  11: "\\v",
};

/**
 * The UTF-8 sequence starting at bytes[i] as Go's utf8.DecodeRune sees it: its code point and length, or null for
 * an invalid byte (Go's RuneError with width 1 — the caller consumes exactly one byte).
 */
export function decodeRune(bytes: Uint8Array, i: number): { length: number; codePoint: number } | null {
  const first = bytes[i]!;
  if (first < 0x80) return { length: 1, codePoint: first };
  const length =
    first >= 0xc2 && first <= 0xdf ? 2 : first >= 0xe0 && first <= 0xef ? 3 : first >= 0xf0 && first <= 0xf4 ? 4 : 0;
  if (length === 0 || i + length > bytes.length) return null;
  let codePoint = first & (0xff >> (length + 1));
  for (let j = 1; j < length; j++) {
    const next = bytes[i + j]!;
    if ((next & 0xc0) !== 0x80) return null;
    codePoint = (codePoint << 6) | (next & 0x3f);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  const minimum = [0, 0, 0x80, 0x800, 0x10000][length]!;
  if (codePoint < minimum || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return null;
  return { length, codePoint };
}

const hex2 = (value: number) => value.toString(16).padStart(2, "0");

function isPlainAscii(name: Uint8Array): boolean {
  for (const byte of name) if (byte < 0x20 || byte > 0x7e || byte === 0x22 || byte === 0x5c) return false;
  return true;
}

/** strconv.Quote(name) without the surrounding quotes. */
export function quoteName(name: Uint8Array): string {
  // Most names are printable ASCII without quotes or backslashes: they stay exactly as they are.
  if (isPlainAscii(name)) return Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString("latin1");
  let out = "";
  for (let i = 0; i < name.length; ) {
    const rune = decodeRune(name, i);
    if (!rune) {
      out += `\\x${hex2(name[i]!)}`;
      i += 1;
      continue;
    }
    const { codePoint, length } = rune;
    if (codePoint === 0x22 || codePoint === 0x5c) out += `\\${String.fromCharCode(codePoint)}`;
    else if (isGoPrintable(codePoint)) out += String.fromCodePoint(codePoint);
    else if (shortEscapes[codePoint]) out += shortEscapes[codePoint];
    else if (codePoint < 0x20 || codePoint === 0x7f) out += `\\x${hex2(codePoint)}`;
    else if (codePoint < 0x10000) out += `\\u${codePoint.toString(16).padStart(4, "0")}`;
    else out += `\\U${codePoint.toString(16).padStart(8, "0")}`;
    i += length;
  }
  return out;
}

const unescapes: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '"': 0x22,
  "\\": 0x5c,
};

const isHex = (text: string) => /^[0-9a-fA-F]+$/.test(text);

/** strconv.Unquote('"' + quoted + '"'): the name's bytes; INVALID_TREE where Go's Unquote would fail. */
export function unquoteName(quoted: string): Buffer {
  if (!quoted.includes("\\")) {
    if (quoted.includes('"') || quoted.includes("\n")) {
      throw new EngineError("INVALID_TREE", `node name ${JSON.stringify(quoted)} is not a Go-quoted string`);
    }
    return Buffer.from(quoted, "utf8");
  }
  const bytes: number[] = [];
  const fail = (why: string): never => {
    throw new EngineError("INVALID_TREE", `node name ${JSON.stringify(quoted)} is not a Go-quoted string: ${why}`);
  };
  for (let i = 0; i < quoted.length; ) {
    const char = quoted[i]!;
    if (char !== "\\") {
      if (char === '"' || char === "\n") fail("unescaped quote or newline");
      const codePoint = quoted.codePointAt(i)!;
      const text = String.fromCodePoint(codePoint);
      for (const byte of Buffer.from(text, "utf8")) bytes.push(byte);
      i += text.length;
      continue;
    }
    const kind = quoted[i + 1];
    if (kind === undefined) fail("it ends in a backslash");
    else if (kind in unescapes) {
      bytes.push(unescapes[kind]!);
      i += 2;
    } else if (kind === "x") {
      const digits = quoted.slice(i + 2, i + 4);
      if (digits.length !== 2 || !isHex(digits)) fail("bad \\x escape");
      bytes.push(Number.parseInt(digits, 16));
      i += 4;
    } else if (kind >= "0" && kind <= "7") {
      const digits = quoted.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(digits) || Number.parseInt(digits, 8) > 255) fail("bad octal escape");
      bytes.push(Number.parseInt(digits, 8));
      i += 4;
    } else if (kind === "u" || kind === "U") {
      const count = kind === "u" ? 4 : 8;
      const digits = quoted.slice(i + 2, i + 2 + count);
      if (digits.length !== count || !isHex(digits)) fail(`bad \\${kind} escape`);
      const codePoint = Number.parseInt(digits, 16);
      if (codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) fail("escape of an invalid rune");
      for (const byte of Buffer.from(String.fromCodePoint(codePoint), "utf8")) bytes.push(byte);
      i += 2 + count;
    } else {
      fail(`unknown escape \\${kind}`);
    }
  }
  return Buffer.from(bytes);
}
