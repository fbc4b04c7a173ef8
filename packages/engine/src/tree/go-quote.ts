// restic stores a node's name as Go's strconv.Quote(name) without the outer quotes (so any byte sequence survives
// JSON): printable characters stay as they are, `"` and `\` are escaped, control characters use \a \b \f \n \r \t \v
// or \xNN, other non-printable characters \uXXXX or \UXXXXXXXX, and bytes that are not UTF-8 \xNN.

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const shortEscapes: Record<number, string> = {
  7: "\\a",
  8: "\\b",
  12: "\\f",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  11: "\\v",
};

/** Length of the UTF-8 sequence starting at bytes[i] and its code point, or null when it is not valid UTF-8. */
function decodeRune(bytes: Uint8Array, i: number): { length: number; codePoint: number } | null {
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
  const minimum = [0, 0, 0x80, 0x800, 0x10000][length]!;
  if (codePoint < minimum || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return null;
  return { length, codePoint };
}

export function quoteName(name: Uint8Array): string {
  let out = "";
  for (let i = 0; i < name.length; ) {
    const rune = decodeRune(name, i);
    if (!rune) {
      out += `\\x${name[i]!.toString(16).padStart(2, "0")}`;
      i += 1;
      continue;
    }
    const { codePoint, length } = rune;
    const character = String.fromCodePoint(codePoint);
    if (codePoint === 0x22 || codePoint === 0x5c) out += `\\${character}`;
    else if (printable.test(character)) out += character;
    else if (shortEscapes[codePoint]) out += shortEscapes[codePoint];
    else if (codePoint < 0x20 || codePoint === 0x7f) out += `\\x${codePoint.toString(16).padStart(2, "0")}`;
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
  "'": 0x27,
};

/** The inverse of quoteName: the name's bytes. */
export function unquoteName(quoted: string): Buffer {
  const bytes: number[] = [];
  const pushText = (text: string) => bytes.push(...Buffer.from(text, "utf8"));
  for (let i = 0; i < quoted.length; ) {
    if (quoted[i] !== "\\") {
      const codePoint = quoted.codePointAt(i)!;
      const character = String.fromCodePoint(codePoint);
      pushText(character);
      i += character.length;
      continue;
    }
    const kind = quoted[i + 1]!;
    if (kind in unescapes) {
      bytes.push(unescapes[kind]!);
      i += 2;
    } else if (kind === "x") {
      bytes.push(Number.parseInt(quoted.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (kind === "u" || kind === "U") {
      const digits = kind === "u" ? 4 : 8;
      pushText(String.fromCodePoint(Number.parseInt(quoted.slice(i + 2, i + 2 + digits), 16)));
      i += 2 + digits;
    } else {
      throw new Error(`unsupported escape \\${kind} in a tree node name`);
    }
  }
  return Buffer.from(bytes);
}
