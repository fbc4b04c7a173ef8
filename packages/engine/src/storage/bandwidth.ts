import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { EngineError } from "../errors.ts";
import type { FileHandle, SaveData, SaveOptions, StorageBackend } from "./backend.ts";

// Bandwidth limits in rclone's --bwlimit syntax (engine-reference §5.3): a rate in bytes/s with a binary suffix
// B|K|M|G|T|P and KiB by default (`512`, `10M`, `off`), `UP:DOWN` (a sync uploads, so UP counts), or a timetable
// of `[Day-]HH:MM,RATE` entries separated by spaces or `;` (`"Mon-08:00,512k Fri-18:00,off"`). As an extension,
// a bare day or day range (`Mon-Fri`, `Sat`) applies to the entries after it, so `"Mon-Fri 08:00,512 18:00,off"`
// reads as the same five-day schedule written out. One Bandwidth is shared by every transfer of a sync, or by every
// upload of a backup (its concurrent pack uploads, indexes and snapshot: limitUploads), so the limit holds for all
// of them together.

export type BandwidthEntry = { day: number | undefined; minute: number; bytesPerSecond: number | undefined };

/** undefined = unlimited. Entries are sorted by time in the week; days 0 = Sunday … 6 = Saturday (Date#getDay). */
export type BandwidthSchedule = { entries: BandwidthEntry[] };

const days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const suffixes: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

function invalid(spec: string, why: string): EngineError {
  return new EngineError(
    "INVALID_ARGUMENT",
    `the bandwidth limit ${JSON.stringify(spec)} cannot be read: ${why}; write a rate such as 512 (KiB/s), 10M or off, ` +
      'or a timetable such as "Mon-Fri 08:00,512 18:00,off"',
  );
}

/** A size in rclone's SizeSuffix syntax (`512` KiB, `5M`, `1.5G`, `100B`) in bytes. */
export function parseSize(text: string, spec = text): number {
  const match = /^(\d+(?:\.\d+)?)([bkmgtp])?(?:i?b)?$/i.exec(text.trim());
  if (!match) throw invalid(spec, `${JSON.stringify(text)} is not a size`);
  const bytes = Math.round(Number(match[1]) * (suffixes[(match[2] ?? "k").toLowerCase()] ?? 1024));
  if (!(bytes > 0)) throw invalid(spec, "it must be above zero (write off for no limit)");
  return bytes;
}

/** A rate (`512`, `1.5M`, `10M:off`, `off`) in bytes/s; undefined for `off`. */
export function parseRate(text: string, spec = text): number | undefined {
  const upload = text.split(":")[0]!.trim();
  if (upload === "" || upload.toLowerCase() === "off") return undefined;
  return parseSize(upload, spec);
}

function parseDays(token: string, spec: string): number[] {
  const [from, to = from] = token.toLowerCase().split("-");
  const start = days.indexOf(from ?? "");
  const end = days.indexOf(to ?? "");
  if (start < 0 || end < 0) throw invalid(spec, `${JSON.stringify(token)} is not a day or day range (Mon…Sun)`);
  const out: number[] = [];
  for (let day = start; ; day = (day + 1) % 7) {
    out.push(day);
    if (day === end) return out;
  }
}

export function parseBandwidth(spec: string): BandwidthSchedule {
  const tokens = spec.split(/[\s;]+/).filter(Boolean);
  if (tokens.length === 1 && !tokens[0]!.includes(",")) {
    return { entries: [{ day: undefined, minute: 0, bytesPerSecond: parseRate(tokens[0]!, spec) }] };
  }
  const entries: BandwidthEntry[] = [];
  let currentDays: number[] | undefined;
  for (const token of tokens) {
    if (!token.includes(",")) {
      currentDays = parseDays(token, spec);
      continue;
    }
    const match = /^(?:([A-Za-z]{3})-)?(\d{1,2}):(\d{2}),(.+)$/.exec(token);
    if (!match) throw invalid(spec, `${JSON.stringify(token)} is not [Day-]HH:MM,RATE`);
    const hours = Number(match[2]);
    const minutes = Number(match[3]);
    if (hours > 23 || minutes > 59) throw invalid(spec, `${match[2]}:${match[3]} is not a time of day`);
    const bytesPerSecond = parseRate(match[4]!, spec);
    const minute = hours * 60 + minutes;
    const entryDays = match[1] ? parseDays(match[1], spec) : currentDays;
    if (entryDays) for (const day of entryDays) entries.push({ day, minute, bytesPerSecond });
    else entries.push({ day: undefined, minute, bytesPerSecond });
  }
  if (entries.length === 0) throw invalid(spec, "it has no HH:MM,RATE entry");
  return { entries };
}

/** The rate in force at `when`: the latest entry at or before it, wrapping around the day (or the week). */
export function rateAt(schedule: BandwidthSchedule, when: Date): number | undefined {
  const minuteOfWeek = when.getDay() * 1440 + when.getHours() * 60 + when.getMinutes();
  // Entries without a day happen every day: spread them over the week, then take the last one not after now.
  const weekly = schedule.entries.flatMap((entry) =>
    entry.day === undefined
      ? days.map((_, day) => ({ at: day * 1440 + entry.minute, rate: entry.bytesPerSecond }))
      : [{ at: entry.day * 1440 + entry.minute, rate: entry.bytesPerSecond }],
  );
  let best: { at: number; rate: number | undefined } | undefined;
  let latest: { at: number; rate: number | undefined } | undefined;
  for (const entry of weekly) {
    if (entry.at <= minuteOfWeek && (!best || entry.at >= best.at)) best = entry;
    if (!latest || entry.at >= latest.at) latest = entry;
  }
  return (best ?? latest)?.rate;
}

/**
 * A shared limiter: every transfer asks it before sending bytes. A virtual clock (each request moves the time
 * the link is free by bytes/rate) with 100 ms of burst, so the average holds within a few percent over seconds.
 */
export class Bandwidth {
  readonly #schedule: BandwidthSchedule;
  readonly #now: () => Date;
  #freeAt = 0;

  constructor(schedule: BandwidthSchedule, now: () => Date = () => new Date()) {
    this.#schedule = schedule;
    this.#now = now;
  }

  /** The rate right now (bytes/s), undefined when unlimited. */
  rate(): number | undefined {
    return rateAt(this.#schedule, this.#now());
  }

  /** Waits until `bytes` may be sent. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const rate = this.rate();
    if (rate === undefined) return;
    const now = performance.now();
    this.#freeAt = Math.max(this.#freeAt, now) + (bytes / rate) * 1000;
    const wait = this.#freeAt - now - 100;
    if (wait > 0) await sleep(wait, undefined, { signal });
  }

  /**
   * A request body sending `bytes` in slices as the limit lets them go. No signal inside: the HTTP client aborts
   * the request and destroys the body itself.
   */
  stream(bytes: Uint8Array): Readable {
    const bandwidth = this;
    async function* slices(): AsyncGenerator<Uint8Array> {
      const step = bandwidth.sliceSize();
      for (let offset = 0; offset < bytes.byteLength; offset += step) {
        const slice = bytes.subarray(offset, offset + step);
        await bandwidth.take(slice.byteLength);
        yield slice;
      }
    }
    const body = Readable.from(slices(), { objectMode: false });
    body.on("error", () => {});
    return body;
  }

  /** The chunk size that keeps one wait short (a tenth of a second's worth, at least 1 KiB). */
  sliceSize(): number {
    const rate = this.rate();
    return rate === undefined ? Number.POSITIVE_INFINITY : Math.max(1024, Math.floor(rate / 10));
  }
}

/**
 * The storage with every save paced by `bandwidth` (restic's --limit-upload): the backends send the bytes through
 * it as they go on the wire (S3) or to the file (local), so all concurrent uploads share the one limit.
 */
export function limitUploads(storage: StorageBackend, bandwidth: Bandwidth): StorageBackend {
  return {
    location: () => storage.location(),
    save: (handle: FileHandle, data: SaveData, options: SaveOptions = {}) =>
      storage.save(handle, data, { ...options, bandwidth }),
    load: (handle, options) => storage.load(handle, options),
    loadChunks: (handle, consume, options) => storage.loadChunks(handle, consume, options),
    stat: (handle, options) => storage.stat(handle, options),
    list: (type, options) => storage.list(type, options),
    remove: (handle, options) => storage.remove(handle, options),
    close: () => storage.close(),
  };
}
