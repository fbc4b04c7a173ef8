// Test data generators shared by the tree tests.

import fc from "fast-check";

const utf8 = (codePoint: number) => [...Buffer.from(String.fromCodePoint(codePoint))];

/** Bytes that stress quoting: invalid UTF-8, controls, quotes, HTML characters, separators, private use, astral. */
export const awkwardBytes = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((byte) => [byte]),
      fc.constantFrom(0x22, 0x5c, 0x3c, 0x3e, 0x26, 0x7f, 0x2028, 0x2029, 0xfffd, 0xad, 0xa0, 0x1f600).map(utf8),
      fc.integer({ min: 0, max: 0x7ff }).map(utf8),
      fc.integer({ min: 0xe000, max: 0xffff }).map(utf8),
      fc.integer({ min: 0x10000, max: 0x10ffff }).map(utf8),
      fc.integer({ min: 0x800, max: 0xd7ff }).map(utf8),
      fc.constantFrom([0xed, 0xa0, 0x80], [0xe0, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82]),
    ),
    { maxLength: 10 },
  )
  .map((parts) => Buffer.from(parts.flat()));
