import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { awkwardBytes } from "./arbitraries.testing.ts";
import { compactGoJson, goJsonBytes, goJsonString } from "./go-json.ts";
import { askGo, type GoRequest, goToolchain } from "./go-oracle.testing.ts";
import { isGoPrintable, quoteName, unquoteName } from "./go-quote.ts";
import { formatGoTime, goNodeTime, parseGoTime } from "./go-time.ts";

// Go's formatting rules as restic uses them, checked against fixed vectors and — where a Go toolchain is installed —
// against Go itself on thousands of random inputs (go-oracle.testing.ts).

// Europe/Amsterdam is not here on purpose: before 1937 Go (system zoneinfo, with backzone) says +00:19:32 and
// ICU says Brussels' +00:17:30 — a tz database difference, not a formatting one (see go-time.ts).
const zones = [
  "UTC",
  "Europe/London",
  "Europe/Berlin",
  "America/New_York",
  "Asia/Kolkata",
  "America/St_Johns",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
];

const originalTz = process.env.TZ;
afterEach(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

describe("Go quoting of names (strconv.Quote)", () => {
  it("matches known cases", () => {
    expect(quoteName(Buffer.from("plain name.txt"))).toBe("plain name.txt");
    expect(quoteName(Buffer.from('a"b\\c\td\u0001\u007f\uE000\u{1F600}ü\u00ad\u00a0'))).toBe(
      'a\\"b\\\\c\\td\\x01\\x7f\\ue000\u{1F600}ü\\u00ad\\u00a0',
    );
    expect(quoteName(Buffer.from([0x66, 0xff, 0x6f, 0xed, 0xa0, 0x80]))).toBe("f\\xffo\\xed\\xa0\\x80");
    // U+0378 is unassigned and U+1FADC only assigned after Unicode 15 (Go's tables): escaped like Go does.
    expect(quoteName(Buffer.from("\u0378\u{1FADC}"))).toBe("\\u0378\\U0001fadc");
    expect(isGoPrintable(0x20)).toBe(true);
    expect(isGoPrintable(0x10ffff)).toBe(false);
  });

  it("round-trips any bytes through quote and unquote", () => {
    fc.assert(
      fc.property(awkwardBytes, (bytes) => {
        expect(unquoteName(quoteName(bytes))).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads what Go's Unquote reads, and refuses what it refuses", () => {
    expect(unquoteName("\\101\\x42\\u0043\\U00000044")).toEqual(Buffer.from("ABCD"));
    for (const bad of ['a"b', "a\nb", "a\\", "\\q", "\\'", "\\x4", "\\ud800", "\\400", "\\U00110000"]) {
      expect(() => unquoteName(bad), bad).toThrow(/not a Go-quoted string/);
    }
  });

  it.skipIf(!goToolchain)("agrees with Go on random bytes (quote, unquote, JSON strings)", async () => {
    const samples = fc.sample(awkwardBytes, 3000);
    const requests: GoRequest[] = samples.flatMap((bytes) => [
      { kind: "quote", bytes },
      { kind: "json", bytes },
    ]);
    const answers = await askGo(requests);
    samples.forEach((bytes, i) => {
      expect(quoteName(bytes), bytes.toString("hex")).toBe(answers[2 * i]!.toString("utf8"));
      expect(goJsonBytes(bytes), bytes.toString("hex")).toBe(answers[2 * i + 1]!.toString("utf8"));
    });
    const unquoted = await askGo(samples.map((bytes) => ({ kind: "unquote", bytes: Buffer.from(quoteName(bytes)) })));
    samples.forEach((bytes, i) => {
      expect(unquoted[i]).toEqual(bytes);
    });
  });
});

describe("Go JSON strings (encoding/json)", () => {
  it("escapes what Go escapes and nothing else", () => {
    expect(goJsonString(`a<b>&"c"\n\t\r\b\f\u0001\u001f\u007f\u2028\u2029é\u{1F600}`)).toBe(
      '"a\\u003cb\\u003e\\u0026\\"c\\"\\n\\t\\r\\b\\f\\u0001\\u001f\u007f\\u2028\\u2029é\u{1F600}"',
    );
    // A backslash followed by "b" is two characters, not a backspace.
    expect(goJsonString("x\\by")).toBe('"x\\\\by"');
    expect(goJsonString("lone \ud800 surrogate")).toBe('"lone \\ufffd surrogate"');
    expect(goJsonBytes(Buffer.from([0x61, 0xff, 0xe2, 0x82, 0x61]))).toBe('"a\\ufffd\\ufffd\\ufffda"');
  });

  it("compacts raw JSON like json.RawMessage, escaping HTML characters inside strings only", () => {
    expect(compactGoJson(' { "a" : [1, 2.50, "<x> & y\\u0041"] ,\n "b":null } ')).toBe(
      '{"a":[1,2.50,"\\u003cx\\u003e \\u0026 y\\u0041"],"b":null}',
    );
  });

  it.skipIf(!goToolchain)("compacts raw JSON exactly as Go does", async () => {
    // Whitespace between tokens (pretty-printed), awkward characters inside strings.
    const documents = fc
      .sample(fc.json({ stringUnit: "binary" }), 500)
      .map((text) => Buffer.from(JSON.stringify(JSON.parse(text), null, 2)));
    const answers = await askGo(documents.map((bytes) => ({ kind: "raw", bytes })));
    documents.forEach((bytes, i) => {
      expect(compactGoJson(bytes.toString())).toBe(answers[i]!.toString());
    });
  });
});

describe("Go times (RFC3339Nano)", () => {
  it("formats instants with trimmed nanoseconds and Z or ±hh:mm", () => {
    expect(formatGoTime(0n, "utc")).toBe("1970-01-01T00:00:00Z");
    expect(formatGoTime(1_000_000_500n, "utc")).toBe("1970-01-01T00:00:01.0000005Z");
    expect(formatGoTime(-1n, "utc")).toBe("1969-12-31T23:59:59.999999999Z");
    expect(formatGoTime(1_700_000_000_120_000_000n, { offsetSeconds: 3600 })).toBe("2023-11-14T23:13:20.12+01:00");
    expect(formatGoTime(1_700_000_000_000_000_000n, { offsetSeconds: -(3 * 3600 + 1800) })).toBe(
      "2023-11-14T18:43:20-03:30",
    );
    expect(formatGoTime(-62_135_596_800_000_000_000n, "utc")).toBe("0001-01-01T00:00:00Z");
    expect(() => formatGoTime(253_402_300_800_000_000_000n, "utc")).toThrow(RangeError); // year 10000
  });

  it("agrees with Date on the calendar for every millisecond Date can show", () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (ms) => {
        const iso = new Date(ms).toISOString(); // years 0000..9999
        const ours = formatGoTime(BigInt(ms) * 1_000_000n, "utc");
        expect(ours.slice(0, 19)).toBe(iso.slice(0, 19));
      }),
      { numRuns: 3000 },
    );
  });

  it("clamps node years to 0..9999 as restic's FixTime does", () => {
    const year10000 = 253_402_300_800_000_000_000n; // 10000-01-01T00:00:00Z
    expect(goNodeTime(year10000 + 5n, "utc")).toBe("9999-01-01T00:00:00.000000005Z");
    const leapDay10000 = year10000 + 59n * 86_400_000_000_000n; // 10000-02-29
    expect(goNodeTime(leapDay10000, "utc")).toBe("9999-03-01T00:00:00Z");
    expect(goNodeTime(-62_167_219_200_000_000_001n, "utc")).toBe("0000-12-31T23:59:59.999999999Z"); // from year -1
  });

  it("parses what it formats", () => {
    fc.assert(
      fc.property(
        // Years 0..9999 whatever the offset: one day in from both ends.
        fc.bigInt({ min: -62_167_132_800_000_000_000n, max: 253_402_214_399_999_999_999n }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (nanoseconds, minutes) => {
          const text = formatGoTime(nanoseconds, { offsetSeconds: minutes * 60 });
          expect(parseGoTime(text)).toEqual({ nanoseconds, offsetSeconds: minutes * 60 });
        },
      ),
      { numRuns: 2000 },
    );
    expect(parseGoTime("2023-02-29T00:00:00Z")).toBeNull();
    expect(parseGoTime("yesterday")).toBeNull();
  });

  it.skipIf(!goToolchain)("agrees with Go in real zones, DST, LMT and far-off years (local time)", async () => {
    const instants = fc.sample(
      fc.oneof(
        fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
        fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }).map((n) => n * 1_000_000_000n),
        fc.bigInt({ min: -5_000_000_000_000_000_000n, max: 5_000_000_000_000_000_000n }),
        fc.bigInt({ min: 253_300_000_000_000_000_000n, max: 253_500_000_000_000_000_000n }), // around 9999/10000
        fc.bigInt({ min: -62_200_000_000_000_000_000n, max: -62_100_000_000_000_000_000n }), // around year 0
      ),
      400,
    );
    const requests = zones.flatMap((zone) =>
      instants.map((nanoseconds): GoRequest => ({ kind: "nodetime", nanoseconds, zone })),
    );
    const answers = await askGo(requests);
    requests.forEach((request, i) => {
      if (request.kind !== "nodetime") return;
      process.env.TZ = request.zone;
      const expected = answers[i]!.toString();
      const ours = `"${goNodeTime(request.nanoseconds, "local")}"`;
      expect(ours, `${request.nanoseconds} in ${request.zone}`).toBe(expected);
    });
  });
});
