import { Cron } from "croner";
import { z } from "zod";

// A job's schedule_json: a cron expression in a time zone, a fixed interval, or manual only. Both timed kinds may
// spread their start by a random delay so a fleet scheduled at 02:00 does not hit the storage at the same second.
// Everything here is pure: the scheduler, the portal's "next 5 runs" preview and the overdue check share it.

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function cronProblem(expression: string, timezone: string): string | null {
  try {
    new Cron(expression, { timezone, paused: true }).nextRun();
    return null;
  } catch (error) {
    return (error as Error).message.replace(/^CronPattern: /, "");
  }
}

const randomDelaySeconds = z.number().int().min(0).max(86_400).default(0);

export const scheduleSchema = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("cron"),
      cron: z.string().min(9).max(200),
      timezone: z.string().refine(isTimeZone, "must be an IANA time zone such as Europe/Berlin").default("UTC"),
      randomDelaySeconds,
    }),
    z.strictObject({
      kind: z.literal("interval"),
      everySeconds: z
        .number()
        .int()
        .min(300, "must be at least 300 seconds")
        .max(31 * 86_400),
      randomDelaySeconds,
    }),
    z.strictObject({ kind: z.literal("manual") }),
  ])
  .superRefine((schedule, context) => {
    if (schedule.kind !== "cron") return;
    const problem = cronProblem(schedule.cron, schedule.timezone);
    if (problem)
      context.addIssue({ code: "custom", path: ["cron"], message: `is not a valid cron expression: ${problem}` });
  });
export type Schedule = z.infer<typeof scheduleSchema>;

/** The next nominal slots strictly after `after` (no random delay), for previews and the scheduler. */
export function nextSlots(schedule: Schedule, after: Date, count: number): Date[] {
  if (schedule.kind === "manual") return [];
  if (schedule.kind === "interval") {
    return Array.from({ length: count }, (_, i) => new Date(after.getTime() + (i + 1) * schedule.everySeconds * 1000));
  }
  return new Cron(schedule.cron, { timezone: schedule.timezone, paused: true }).nextRuns(count, after);
}

/**
 * When the scheduler should next enqueue a run: the next slot after `after`, pushed back by a random part of the
 * schedule's delay (`random` in [0, 1) is a parameter so tests are deterministic).
 */
export function nextRunAt(schedule: Schedule, after: Date, random: number = Math.random()): Date | null {
  const [slot] = nextSlots(schedule, after, 1);
  if (!slot) return null;
  const delayMs = schedule.kind === "manual" ? 0 : Math.floor(random * schedule.randomDelaySeconds * 1000);
  return new Date(slot.getTime() + delayMs);
}

/**
 * How long a healthy job goes between successful runs: the interval, or for cron the longest gap between its next
 * slots over a week (a weekdays-only schedule legitimately waits over the weekend). Null for manual jobs.
 */
export function expectedGapSeconds(schedule: Schedule, from: Date): number | null {
  if (schedule.kind === "manual") return null;
  if (schedule.kind === "interval") return schedule.everySeconds + schedule.randomDelaySeconds;
  const slots = new Cron(schedule.cron, { timezone: schedule.timezone, paused: true }).nextRuns(64, from);
  const weekLater = from.getTime() + 7 * 86_400_000;
  let longest = 0;
  for (let i = 1; i < slots.length && slots[i - 1]!.getTime() < weekLater; i++) {
    longest = Math.max(longest, slots[i]!.getTime() - slots[i - 1]!.getTime());
  }
  return longest === 0 ? null : longest / 1000 + schedule.randomDelaySeconds;
}

/** A job is overdue when its last success is older than 1.5 times its expected gap. */
export function isOverdue(schedule: Schedule, lastSuccessOrCreation: Date, now: Date): boolean {
  const gap = expectedGapSeconds(schedule, lastSuccessOrCreation);
  return gap !== null && now.getTime() - lastSuccessOrCreation.getTime() > 1.5 * gap * 1000;
}
