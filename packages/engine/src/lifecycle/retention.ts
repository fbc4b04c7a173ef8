import { z } from "zod";
import { EngineError } from "../errors.ts";
import { formatGoTime, parseGoTime } from "../tree/go-time.ts";

// restic 0.14's forget policy (`forget --keep-*`, restic's ExpirePolicy), as a pure function so the portal can
// preview exactly what the agent's forget will remove. Snapshots are grouped by host and paths (restic's default
// --group-by host,paths) and each group is walked newest first:
// - keep-last/-hourly/-daily/-weekly/-monthly/-yearly N keep the newest snapshot of each of the N most recent
//   periods *that hold a snapshot* (not the last N calendar periods);
// - keep-within D keeps everything newer than the group's newest snapshot (one in the future does not count) minus D;
//   keep-within-<period> D keeps the newest snapshot of every period inside that window;
// - keep-tag L keeps snapshots carrying every tag of the list L.
// Periods are read on the wall clock each snapshot was written in (its time's own UTC offset), as Go's time.Time
// does; ISO weeks as Go's ISOWeek. The reasons are restic's words, so a plan reads like `restic forget --json`.
// A snapshot's time carries the offset of the agent's local zone when the backup ran, so a snapshot at 00:30 in
// Berlin is that day's snapshot, not the previous UTC day's. Whoever plans from bare instants (the portal's catalog
// keeps timestamps, not offsets) writes them in the agent's zone first (snapshotTimeIn) to get the same periods.

/** Years, months, days and hours as restic's Duration ("1y2m3d4h"); months and years are calendar steps. */
export type RetentionDuration = { years: number; months: number; days: number; hours: number };

const durationUnits = { y: "years", m: "months", d: "days", h: "hours" } as const;

/** Parses restic's duration syntax: numbers each followed by y, m, d or h, in any order, each unit at most once. */
export function parseRetentionDuration(text: string): RetentionDuration {
  const trimmed = text.trim();
  if (!/^(?:\d{1,5}[ymdh])+$/.test(trimmed)) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      `${JSON.stringify(text)} is not a duration; write it as restic does, e.g. "1y6m", "7d" or "2d12h" (at most 5 digits per unit)`,
    );
  }
  const duration: RetentionDuration = { years: 0, months: 0, days: 0, hours: 0 };
  const seen = new Set<string>();
  for (const [, digits, unit] of trimmed.matchAll(/(\d+)([ymdh])/g)) {
    const field = durationUnits[unit as keyof typeof durationUnits];
    if (seen.has(field)) {
      throw new EngineError(
        "INVALID_ARGUMENT",
        `${JSON.stringify(text)} gives the ${field} twice; give each unit once`,
      );
    }
    seen.add(field);
    duration[field] = Number(digits);
  }
  return duration;
}

/** restic's Duration.String(): the non-zero parts in y, m, d, h order ("" for zero). */
export function formatRetentionDuration(duration: RetentionDuration): string {
  return (
    (duration.years ? `${duration.years}y` : "") +
    (duration.months ? `${duration.months}m` : "") +
    (duration.days ? `${duration.days}d` : "") +
    (duration.hours ? `${duration.hours}h` : "")
  );
}

/**
 * An instant as a snapshot time written in an IANA zone ("2026-11-24T00:30:00+01:00" for Europe/Berlin), which is how
 * an agent whose clock runs in that zone stamps its snapshots; planRetention then buckets it on that zone's days.
 */
export function snapshotTimeIn(instant: Date, timeZone: string): string {
  return formatGoTime(BigInt(instant.getTime()) * 1_000_000n, { ianaZone: timeZone });
}

const isZero = (duration: RetentionDuration) =>
  duration.years === 0 && duration.months === 0 && duration.days === 0 && duration.hours === 0;

const keepCount = z.number().int().min(0).max(1_000_000).optional();
const keepDuration = z
  .string()
  .transform((text, context) => {
    try {
      return parseRetentionDuration(text);
    } catch (error) {
      context.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  })
  .optional();

/** A retention policy as the portal stores it and the CLI builds it; every field is optional, at least one needed. */
export const retentionPolicySchema = z
  .object({
    keepLast: keepCount,
    keepHourly: keepCount,
    keepDaily: keepCount,
    keepWeekly: keepCount,
    keepMonthly: keepCount,
    keepYearly: keepCount,
    keepWithin: keepDuration,
    keepWithinHourly: keepDuration,
    keepWithinDaily: keepDuration,
    keepWithinWeekly: keepDuration,
    keepWithinMonthly: keepDuration,
    keepWithinYearly: keepDuration,
    /** Each entry is a tag list (restic's `--keep-tag a,b`): a snapshot with all of its tags is kept. */
    keepTags: z.array(z.array(z.string()).min(1, "a keep-tag list needs at least one tag")).optional(),
  })
  .strict();

export type RetentionPolicy = z.input<typeof retentionPolicySchema>;
type ParsedPolicy = z.output<typeof retentionPolicySchema>;

/** The fields a plan needs from a snapshot (SnapshotWithId has them). */
export type RetainableSnapshot = { id: string; time: string; hostname?: string; paths: string[]; tags?: string[] };

/** How many periods each keep-N rule still had to fill after a kept snapshot (restic's KeepReason counters). */
export type RetentionCounters = {
  last: number;
  hourly: number;
  daily: number;
  weekly: number;
  monthly: number;
  yearly: number;
};

export type KeptSnapshot<S> = { snapshot: S; reasons: string[]; counters: RetentionCounters };

export type RetentionGroup<S> = {
  hostname: string;
  /** Sorted byte-wise, as restic's group key. */
  paths: string[];
  /** Newest first, each with restic's reasons ("last snapshot", "daily snapshot", "within 7d", "has tags [a]"…). */
  keep: KeptSnapshot<S>[];
  /** Newest first. */
  remove: S[];
  /** The policy keeps nothing of this group (e.g. keep-tag alone and no snapshot has the tag). */
  removesAll: boolean;
};

export type RetentionPlan<S> = {
  /** restic's description of the policy ("keep 3 latest, 7 daily snapshots"). */
  description: string;
  /** By host, then paths. */
  groups: RetentionGroup<S>[];
  /** Every snapshot the plan removes. */
  remove: S[];
};

const nanosPerMilli = 1_000_000n;
const nanosPerSecond = 1_000_000_000n;
const millisPerDay = 86_400_000;
/** Go's zero time.Time (0001-01-01T00:00:00Z): restic's "latest" when every snapshot is in the future. */
const goZeroTime = { instant: -62_135_596_800n * nanosPerSecond, offsetSeconds: 0 };

type Timed<S> = { snapshot: S; instant: bigint; offsetSeconds: number; wall: Date };

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** The snapshot's wall clock as a Date whose UTC fields read as that clock. */
function wallClock(instant: bigint, offsetSeconds: number): { wall: Date; belowMilli: bigint } {
  const wallNanos = instant + BigInt(offsetSeconds) * nanosPerSecond;
  const millis = floorDiv(wallNanos, nanosPerMilli);
  return { wall: new Date(Number(millis)), belowMilli: wallNanos - millis * nanosPerMilli };
}

/** Go's ISOWeek as year * 100 + week: the week belongs to the year holding its Thursday. */
function isoWeek(wall: Date): number {
  const day = Math.floor(wall.getTime() / millisPerDay) * millisPerDay;
  const thursday = new Date(day + (3 - ((wall.getUTCDay() + 6) % 7)) * millisPerDay);
  const newYear = new Date(0);
  newYear.setUTCFullYear(thursday.getUTCFullYear(), 0, 1);
  return (
    thursday.getUTCFullYear() * 100 + Math.floor((thursday.getTime() - newYear.getTime()) / (7 * millisPerDay)) + 1
  );
}

// restic's bucket keys: two snapshots are in the same period when their keys are equal.
const hourKey = (w: Date) =>
  w.getUTCFullYear() * 1_000_000 + (w.getUTCMonth() + 1) * 10_000 + w.getUTCDate() * 100 + w.getUTCHours();
const dayKey = (w: Date) => w.getUTCFullYear() * 10_000 + (w.getUTCMonth() + 1) * 100 + w.getUTCDate();
const monthKey = (w: Date) => w.getUTCFullYear() * 100 + (w.getUTCMonth() + 1);
const yearKey = (w: Date) => w.getUTCFullYear();

/**
 * The instant `duration` before `latest`, as Go's latest.AddDate(-y, -m, -d).Add(-h hours): the date steps on the
 * wall clock of latest's offset and overflow normalises as Go's time.Date does (31 March minus a month is 2 March).
 */
function windowStart(latest: { instant: bigint; offsetSeconds: number }, duration: RetentionDuration): bigint {
  const { wall, belowMilli } = wallClock(latest.instant, latest.offsetSeconds);
  wall.setUTCFullYear(
    wall.getUTCFullYear() - duration.years,
    wall.getUTCMonth() - duration.months,
    wall.getUTCDate() - duration.days,
  );
  const wallNanos = BigInt(wall.getTime()) * nanosPerMilli + belowMilli;
  return wallNanos - BigInt(latest.offsetSeconds) * nanosPerSecond - BigInt(duration.hours) * 3600n * nanosPerSecond;
}

/** restic's Snapshot.HasTags, including its rule that an empty tag matches a snapshot without tags. */
function hasTags(tags: string[] | undefined, list: string[]): boolean {
  for (const tag of list) {
    if (tag === "" && !tags?.length) return true;
    if (!tags?.includes(tag)) return false;
  }
  return true;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** restic's ExpirePolicy.String(), shown before a plan. */
function describePolicy(policy: ParsedPolicy): string {
  const counts = (
    [
      [policy.keepLast, "latest"],
      [policy.keepHourly, "hourly"],
      [policy.keepDaily, "daily"],
      [policy.keepWeekly, "weekly"],
      [policy.keepMonthly, "monthly"],
      [policy.keepYearly, "yearly"],
    ] as const
  )
    .filter(([count]) => count)
    .map(([count, what]) => `${count} ${what}`);
  const windows = (
    [
      [policy.keepWithinHourly, "hourly"],
      [policy.keepWithinDaily, "daily"],
      [policy.keepWithinWeekly, "weekly"],
      [policy.keepWithinMonthly, "monthly"],
      [policy.keepWithinYearly, "yearly"],
    ] as const
  )
    .filter(([duration]) => duration && !isZero(duration))
    .map(([duration, what]) => `${what} snapshots within ${formatRetentionDuration(duration!)}`);
  let text = counts.length ? `${counts.join(", ")} snapshots` : "";
  if (windows.length) text += `${text ? ", " : ""}${windows.join(", ")}`;
  if (policy.keepTags?.length) {
    text += `${text ? " and " : ""}all snapshots with tags [${policy.keepTags.map((list) => `[${list.join(", ")}]`).join(" ")}]`;
  }
  if (policy.keepWithin && !isZero(policy.keepWithin)) {
    text += `${text ? " and " : ""}all snapshots within ${formatRetentionDuration(policy.keepWithin)} of the newest`;
  }
  return `keep ${text}`;
}

/**
 * Which snapshots a policy keeps and why, per host-and-paths group; nothing is removed here. `now` decides which
 * snapshots are in the future (they do not anchor keep-within). Equal times are ordered by id (restic's order for
 * them depends on how its storage listed them). INVALID_ARGUMENT for a malformed policy or one without any keep
 * rule (restic would keep everything; a plan that says so is more likely a mistake than a wish).
 */
export function planRetention<S extends RetainableSnapshot>(
  snapshots: readonly S[],
  policyInput: RetentionPolicy,
  options: { now?: Date } = {},
): RetentionPlan<S> {
  const parsed = retentionPolicySchema.safeParse(policyInput);
  if (!parsed.success) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid retention policy: ${parsed.error.issues.map((issue) => `${issue.path.join(".") || "policy"}: ${issue.message}`).join("; ")}`,
    );
  }
  const policy = parsed.data;
  const duration = (value: RetentionDuration | undefined) => (value && !isZero(value) ? value : undefined);
  const counted = [
    { count: policy.keepLast ?? 0, key: null, reason: "last snapshot" },
    { count: policy.keepHourly ?? 0, key: hourKey, reason: "hourly snapshot" },
    { count: policy.keepDaily ?? 0, key: dayKey, reason: "daily snapshot" },
    { count: policy.keepWeekly ?? 0, key: isoWeek, reason: "weekly snapshot" },
    { count: policy.keepMonthly ?? 0, key: monthKey, reason: "monthly snapshot" },
    { count: policy.keepYearly ?? 0, key: yearKey, reason: "yearly snapshot" },
  ];
  const windowed = [
    { within: duration(policy.keepWithinHourly), key: hourKey, reason: "hourly within" },
    { within: duration(policy.keepWithinDaily), key: dayKey, reason: "daily within" },
    { within: duration(policy.keepWithinWeekly), key: isoWeek, reason: "weekly within" },
    { within: duration(policy.keepWithinMonthly), key: monthKey, reason: "monthly within" },
    { within: duration(policy.keepWithinYearly), key: yearKey, reason: "yearly within" },
  ];
  const within = duration(policy.keepWithin);
  const keepTags = policy.keepTags ?? [];
  if (
    counted.every((rule) => rule.count === 0) &&
    !within &&
    windowed.every((rule) => !rule.within) &&
    !keepTags.length
  ) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      "the retention policy has no keep rule; give at least one of keep-last, keep-hourly, keep-daily, keep-weekly, " +
        "keep-monthly, keep-yearly, keep-within(-hourly/-daily/-weekly/-monthly/-yearly) or keep-tag",
    );
  }

  const groups = new Map<string, { hostname: string; paths: string[]; members: Timed<S>[] }>();
  for (const snapshot of snapshots) {
    const time = parseGoTime(snapshot.time);
    if (!time) {
      throw new EngineError(
        "INVALID_ARGUMENT",
        `snapshot ${snapshot.id} has the time ${JSON.stringify(snapshot.time)}, which is not RFC 3339; it cannot be placed in a retention period`,
      );
    }
    const hostname = snapshot.hostname ?? "";
    const paths = [...snapshot.paths].sort(byteOrder);
    const key = JSON.stringify([hostname, paths]);
    let group = groups.get(key);
    if (!group) {
      group = { hostname, paths, members: [] };
      groups.set(key, group);
    }
    const { wall } = wallClock(time.nanoseconds, time.offsetSeconds);
    group.members.push({ snapshot, instant: time.nanoseconds, offsetSeconds: time.offsetSeconds, wall });
  }

  const now = BigInt(options.now?.getTime() ?? Date.now()) * nanosPerMilli;
  const planned: RetentionGroup<S>[] = [];
  for (const { hostname, paths, members } of groups.values()) {
    members.sort((a, b) =>
      a.instant === b.instant ? byteOrder(a.snapshot.id, b.snapshot.id) : a.instant > b.instant ? -1 : 1,
    );
    const latest = members.reduce(
      (newest, member) => (member.instant > newest.instant && member.instant < now ? member : newest),
      goZeroTime,
    );
    const remaining = counted.map((rule) => rule.count);
    const lastKeys = counted.map(() => -1);
    const lastWindowKeys = windowed.map(() => -1);
    const windowStarts = windowed.map((rule) => (rule.within ? windowStart(latest, rule.within) : 0n));
    const withinStart = within ? windowStart(latest, within) : 0n;
    const group: RetentionGroup<S> = { hostname, paths, keep: [], remove: [], removesAll: false };
    members.forEach((member, position) => {
      const reasons: string[] = [];
      for (const list of keepTags) {
        if (hasTags(member.snapshot.tags, list)) reasons.push(`has tags [${list.join(", ")}]`);
      }
      if (within && member.instant > withinStart) reasons.push(`within ${formatRetentionDuration(within)}`);
      counted.forEach((rule, index) => {
        if (remaining[index]! <= 0) return;
        const key = rule.key ? rule.key(member.wall) : position;
        if (key === lastKeys[index]) return;
        lastKeys[index] = key;
        remaining[index]! -= 1;
        reasons.push(rule.reason);
      });
      windowed.forEach((rule, index) => {
        if (!rule.within || member.instant <= windowStarts[index]!) return;
        const key = rule.key(member.wall);
        if (key === lastWindowKeys[index]) return;
        lastWindowKeys[index] = key;
        reasons.push(`${rule.reason} ${formatRetentionDuration(rule.within)}`);
      });
      if (reasons.length === 0) {
        group.remove.push(member.snapshot);
        return;
      }
      const [last, hourly, daily, weekly, monthly, yearly] = remaining as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      group.keep.push({
        snapshot: member.snapshot,
        reasons,
        counters: { last, hourly, daily, weekly, monthly, yearly },
      });
    });
    group.removesAll = group.keep.length === 0 && group.remove.length > 0;
    planned.push(group);
  }
  planned.sort((a, b) => byteOrder(a.hostname, b.hostname) || byteOrder(a.paths.join("\0"), b.paths.join("\0")));
  return { description: describePolicy(policy), groups: planned, remove: planned.flatMap((group) => group.remove) };
}
