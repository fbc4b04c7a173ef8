// Times as restic writes them: Go's time.Time marshals to RFC 3339 with nanoseconds ("2006-01-02T15:04:05.999999999
// Z07:00": fraction with trailing zeros trimmed and left out when zero, "Z" for a zero offset, else ±hh:mm). restic
// keeps file times in the local zone (time.Unix gives Local), so a tree made in Berlin says +01:00 and the same tree
// made in UTC says Z — different bytes, different tree ids; the zone is therefore a parameter.
// Instants are bigint nanoseconds since the Unix epoch (what fs.stat with { bigint: true } gives as mtimeNs).
// Local offsets come from the JavaScript engine's tz database (ICU); Go reads the system's zoneinfo. The two agree
// except where the databases differ (some zones' history before 1970, e.g. Amsterdam before 1937, and rule changes
// newer than one of them) — then a node time differs from restic's by that offset, which only costs tree dedup.

/** The process's local zone, UTC, a fixed offset, or an IANA zone's offset at each instant ({ ianaZone: "Europe/Berlin" }). */
export type TimeZone = "local" | "utc" | { offsetSeconds: number } | { ianaZone: string };

const nanosPerSecond = 1_000_000_000n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Seconds in 400 Gregorian years: the calendar (weekdays included) repeats after it, and so do zone rules. */
const fourCenturies = 12_622_780_800n;

/** Offset from UTC in seconds of the process's local zone (TZ, else /etc/localtime) at an instant. */
export function localOffsetSeconds(unixSeconds: bigint): number {
  // Date covers ±8.64e15 ms (±275 000 years). Beyond that, move by whole 400-year cycles into range: the zone's
  // final (periodic) rule then gives the same answer, as Go's rule extension does.
  const limit = 8_640_000_000_000n;
  let seconds = unixSeconds;
  if (seconds > limit) seconds -= ((seconds - limit) / fourCenturies + 1n) * fourCenturies;
  else if (seconds < -limit) seconds += ((-limit - seconds) / fourCenturies + 1n) * fourCenturies;
  const milliseconds = Number(seconds) * 1000;
  // getTimezoneOffset is fast but whole minutes; local mean time (most zones before ~1900, some until 1972) has
  // seconds in its offset (Berlin +00:53:28), which Go applies to the clock. Ask ICU for those early instants.
  if (milliseconds < lastOffsetWithSeconds) return intlOffsetSeconds(milliseconds);
  return -new Date(milliseconds).getTimezoneOffset() * 60;
}

/** 1973-01-01: after this no zone had an offset with seconds (Liberia dropped -0:44:30 in 1972). */
const lastOffsetWithSeconds = Date.UTC(1973, 0, 1);
const offsetFormats = new Map<string, Intl.DateTimeFormat>();

function intlOffsetSeconds(
  milliseconds: number,
  zone = new Intl.DateTimeFormat().resolvedOptions().timeZone, // follows process.env.TZ changes
): number {
  let format = offsetFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" });
    offsetFormats.set(zone, format);
  }
  const name = format.formatToParts(milliseconds).find((part) => part.type === "timeZoneName")?.value ?? "GMT";
  const match = /^GMT([+-])(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(name);
  if (!match) return 0; // "GMT": zero offset
  const [, sign, hours, minutes, secs] = match;
  return (sign === "-" ? -1 : 1) * (Number(hours) * 3600 + Number(minutes) * 60 + Number(secs ?? 0));
}

function offsetOf(zone: TimeZone, unixSeconds: bigint): number {
  if (zone === "utc") return 0;
  if (zone === "local") return localOffsetSeconds(unixSeconds);
  if ("ianaZone" in zone) return intlOffsetSeconds(Number(unixSeconds) * 1000, zone.ianaZone);
  return zone.offsetSeconds;
}

type Civil = { year: bigint; month: number; day: number; secondOfDay: number };

/**
 * Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's civil_from_days), in Numbers: exact for the
 * day counts `civil` passes (under 2^30).
 */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097; // day of era, 0..146096
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function daysFromCivil(year: bigint, month: number, day: number): bigint {
  const y = month <= 2 ? year - 1n : year;
  const era = floorDiv(y, 400n);
  const yoe = Number(y - era * 400n);
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097n + BigInt(doe) - 719_468n;
}

/** Seconds either side of 1970 (~1.1 million years) within which `civil` computes in Numbers, exactly. */
const numberSeconds = 2n ** 45n;

// Node times are formatted three times for every file a backup stores, and BigInt arithmetic allocates every
// intermediate value (~20 per time, most of the formatting's garbage), so the calendar works in Numbers; only
// instants beyond ±2^45 s first give up whole 400-year cycles, after which the calendar repeats.
function civil(localSeconds: bigint): Civil {
  if (localSeconds < -numberSeconds || localSeconds > numberSeconds) {
    const cycles = floorDiv(localSeconds, fourCenturies);
    const rest = civil(localSeconds - cycles * fourCenturies);
    return { ...rest, year: rest.year + cycles * 400n };
  }
  const seconds = Number(localSeconds);
  const days = Math.floor(seconds / 86_400);
  const { year, month, day } = civilFromDays(days);
  return { year: BigInt(year), month, day, secondOfDay: seconds - days * 86_400 };
}

const pad = (value: number | bigint, width: number) => value.toString().padStart(width, "0");
/** "00" to "99": the two-digit fields of a time without a string made for each. */
const twoDigits = Array.from({ length: 100 }, (_, value) => pad(value, 2));

function format(c: Civil, nanos: number, offsetSeconds: number): string {
  if (c.year < 0n || c.year > 9999n) {
    // Go's Time.MarshalJSON refuses these years too; restic clamps node times first (goNodeTime).
    throw new RangeError(`year ${c.year} cannot be written as RFC 3339`);
  }
  const hh = Math.floor(c.secondOfDay / 3600);
  const mm = Math.floor((c.secondOfDay % 3600) / 60);
  const ss = c.secondOfDay % 60;
  const fraction = nanos === 0 ? "" : `.${pad(nanos, 9).replace(/0+$/, "")}`;
  let zone = "Z";
  if (offsetSeconds !== 0) {
    // Go prints whole minutes of the offset (truncated), the clock itself uses the full offset.
    const minutes = Math.trunc(Math.abs(offsetSeconds) / 60);
    zone = `${offsetSeconds < 0 ? "-" : "+"}${pad(Math.floor(minutes / 60), 2)}:${twoDigits[minutes % 60]}`;
  }
  return `${pad(c.year, 4)}-${twoDigits[c.month]}-${twoDigits[c.day]}T${twoDigits[hh]}:${twoDigits[mm]}:${twoDigits[ss]}${fraction}${zone}`;
}

function split(nanoseconds: bigint): { seconds: bigint; nanos: number } {
  const seconds = floorDiv(nanoseconds, nanosPerSecond);
  return { seconds, nanos: Number(nanoseconds - seconds * nanosPerSecond) };
}

/** Go's time.Time JSON form (RFC3339Nano) of an instant in a zone; RangeError outside years 0..9999 as in Go. */
export function formatGoTime(nanoseconds: bigint, zone: TimeZone = "local"): string {
  const { seconds, nanos } = split(nanoseconds);
  const offset = offsetOf(zone, seconds);
  return format(civil(seconds + BigInt(offset)), nanos, offset);
}

const isLeap = (year: bigint) => (year % 4n === 0n && year % 100n !== 0n) || year % 400n === 0n;
const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A node time as restic writes it: restic's FixTime first moves a year before 0 to 0 and a year after 9999 to 9999
 * (t.AddDate, so month, day and clock stay; 29 February in a year that has none becomes 1 March), because Go cannot
 * marshal other years. Everything else is formatGoTime.
 */
export function goNodeTime(nanoseconds: bigint, zone: TimeZone = "local"): string {
  const { seconds, nanos } = split(nanoseconds);
  let offset = offsetOf(zone, seconds);
  const c = civil(seconds + BigInt(offset));
  if (c.year >= 0n && c.year <= 9999n) return format(c, nanos, offset);
  const year = c.year < 0n ? 0n : 9999n;
  let { month, day } = c;
  const length = month === 2 && isLeap(year) ? 29 : monthDays[month - 1]!;
  if (day > length) {
    day -= length;
    month += 1;
  }
  // Go's AddDate resolves the new wall clock in the same location, whose offset there may differ.
  if (zone === "local") {
    const localSeconds = daysFromCivil(year, month, day) * 86_400n + BigInt(c.secondOfDay);
    offset = localOffsetSeconds(localSeconds - BigInt(offset));
  }
  return format({ year, month, day, secondOfDay: c.secondOfDay }, nanos, offset);
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 time (as restic writes them) to its instant and offset; null when it is not one. */
export function parseGoTime(text: string): { nanoseconds: bigint; offsetSeconds: number } | null {
  const match = rfc3339.exec(text);
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction, z, sign, oh, om] = match;
  const month = Number(mo);
  const day = Number(d);
  const year = BigInt(y!);
  const length = month === 2 && isLeap(year) ? 29 : monthDays[month - 1];
  if (length === undefined || day < 1 || day > length || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return null;
  }
  const offsetSeconds = z ? 0 : (sign === "-" ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60);
  const local = daysFromCivil(year, month, day) * 86_400n + BigInt(Number(h) * 3600 + Number(mi) * 60 + Number(s));
  const nanos = BigInt((fraction ?? "").padEnd(9, "0"));
  return { nanoseconds: (local - BigInt(offsetSeconds)) * nanosPerSecond + nanos, offsetSeconds };
}

// Wall clock with nanosecond digits: Date.now() anchors it, the monotonic high-resolution clock adds the digits
// below a millisecond (restic's created/time fields carry nanoseconds too).
let anchorWall = BigInt(Date.now()) * 1_000_000n;
let anchorMonotonic = process.hrtime.bigint();

/** Now, in nanoseconds since the Unix epoch. */
export function nowNanoseconds(): bigint {
  const now = anchorWall + (process.hrtime.bigint() - anchorMonotonic);
  const wall = BigInt(Date.now()) * 1_000_000n;
  // Follow the wall clock when it was set (NTP, suspend): re-anchor once the two disagree by more than a second.
  if (now - wall > 1_000_000_000n || wall - now > 1_000_000_000n) {
    anchorWall = wall;
    anchorMonotonic = process.hrtime.bigint();
    return wall;
  }
  return now;
}
