// How the portal writes sizes, durations and times. Pure functions so pages, tests and tooltips agree; the locale
// and time zone are parameters (the browser's by default) so a test can pin them.

export type ByteUnits = "binary" | "decimal";

const binaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
const decimalUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

/** 1536 → "1.5 KiB"; base 2 by default (what restic and rclone print), base 10 on request. */
export function formatBytes(
  bytes: number | bigint | null | undefined,
  options: { units?: ByteUnits; locale?: string } = {},
): string {
  if (bytes === null || bytes === undefined) return "—";
  const value = typeof bytes === "bigint" ? Number(bytes) : bytes;
  if (!Number.isFinite(value)) return "—";
  const base = options.units === "decimal" ? 1000 : 1024;
  const units = options.units === "decimal" ? decimalUnits : binaryUnits;
  const sign = value < 0 ? "-" : "";
  let scaled = Math.abs(value);
  let unit = 0;
  while (scaled >= base && unit < units.length - 1) {
    scaled /= base;
    unit += 1;
  }
  // Three significant digits at most ("1.23 GiB", "12.3 GiB", "123 GiB"); whole bytes stay whole.
  const digits = unit === 0 ? 0 : scaled < 10 ? 2 : scaled < 100 ? 1 : 0;
  const number = new Intl.NumberFormat(options.locale, { maximumFractionDigits: digits }).format(scaled);
  return `${sign}${number} ${units[unit]}`;
}

/** Bytes per second as "12.5 MiB/s". */
export function formatSpeed(bytesPerSecond: number | null | undefined, options: { units?: ByteUnits } = {}): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) return "—";
  return `${formatBytes(bytesPerSecond, options)}/s`;
}

/** 3725 s → "1 h 2 min"; under a minute in seconds; the two largest units only. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  const total = Math.round(seconds);
  if (total < 60) return `${total} s`;
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  return secs > 0 ? `${minutes} min ${secs} s` : `${minutes} min`;
}

/** The run's duration from its timestamps (to `now` while it is still going). */
export function durationBetween(
  start: Date | string | null | undefined,
  end: Date | string | null | undefined,
  now = new Date(),
): number | null {
  if (!start) return null;
  const from = new Date(start).getTime();
  const to = end ? new Date(end).getTime() : now.getTime();
  return Math.max(0, (to - from) / 1000);
}

const relativeUnits: [Intl.RelativeTimeFormatUnit, number, number][] = [
  // unit, its length in seconds, and the age below which it is the unit used
  ["second", 1, 60],
  ["minute", 60, 3600],
  ["hour", 3600, 86_400],
  ["day", 86_400, 7 * 86_400],
  ["week", 7 * 86_400, 30 * 86_400],
  ["month", 30.44 * 86_400, 365 * 86_400],
  ["year", 365.25 * 86_400, Number.POSITIVE_INFINITY],
];

/** "3 hours ago", "in 5 minutes", "just now"; past and future alike. */
export function formatRelative(date: Date | string, now = new Date(), locale?: string): string {
  const diffSeconds = (new Date(date).getTime() - now.getTime()) / 1000;
  if (Math.abs(diffSeconds) < 10) return "just now";
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "long" });
  const [unit, length] = relativeUnits.find(([, , below]) => Math.abs(diffSeconds) < below)!;
  return format.format(Math.round(diffSeconds / length), unit);
}

/** "1 Dec 2026, 09:14:03 CET": the absolute local time with its zone spelled out (never an implicit zone). */
export function formatAbsolute(date: Date | string, options: { locale?: string; timeZone?: string } = {}): string {
  return new Intl.DateTimeFormat(options.locale, {
    dateStyle: "medium",
    timeStyle: "long",
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  }).format(new Date(date));
}

/** The browser's IANA zone ("Europe/Berlin"), shown beside schedules and tooltips. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Whole numbers with the locale's grouping: 12345 → "12,345". */
export function formatCount(value: number | bigint | null | undefined, locale?: string): string {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(locale).format(value);
}

/** 0.4567 → "46 %"; clamped to 0–100. */
export function formatPercent(fraction: number | null | undefined, locale?: string): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "—";
  const clamped = Math.min(1, Math.max(0, fraction));
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 }).format(clamped);
}

/** A dedup/compression ratio: 3.14159 → "3.1×". */
export function formatRatio(ratio: number | null | undefined, locale?: string): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio) || ratio <= 0) return "—";
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(ratio)}×`;
}

/** Long paths keep their start and end: "/home/user/…/deep/file.txt" (the full path goes in a tooltip). */
export function truncateMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return "…";
  const keepEnd = Math.ceil((max - 1) * 0.6);
  const keepStart = max - 1 - keepEnd;
  return `${text.slice(0, keepStart)}…${text.slice(text.length - keepEnd)}`;
}
