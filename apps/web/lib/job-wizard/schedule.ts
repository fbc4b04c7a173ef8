import type { Schedule } from "@e3/api/job-schemas";
import { localTimeZone } from "../format.ts";

// The schedule step's form: presets (manual, hourly, daily, weekly, monthly, an interval) or an advanced cron field,
// turned into the job's schedule_json and back, and described in words. Pure, so the wizard, the jobs list and the
// tests agree.

export type SchedulePreset = "manual" | "hourly" | "daily" | "weekly" | "monthly" | "interval" | "cron";

export type ScheduleDraft = {
  preset: SchedulePreset;
  /** "HH:MM" for daily/weekly/monthly; only the minutes count for hourly. */
  time: string;
  /** 0 = Sunday … 6 = Saturday (cron's numbering). */
  weekdays: number[];
  monthDay: string;
  everyMinutes: string;
  cron: string;
  timezone: string;
  randomDelayMinutes: string;
};

export const weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

export function defaultScheduleDraft(timezone = localTimeZone()): ScheduleDraft {
  return {
    preset: "daily",
    time: "02:00",
    weekdays: [1],
    monthDay: "1",
    everyMinutes: "360",
    cron: "0 2 * * *",
    timezone,
    randomDelayMinutes: "0",
  };
}

function timeParts(time: string): { hour: number; minute: number } | null {
  const match = /^(\d{1,2}):(\d{2})$/.exec(time.trim());
  if (!match) return null;
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  return hour < 24 && minute < 60 ? { hour, minute } : null;
}

/** Problems the schema cannot name in the form's words (a time like 25:00 never reaches cron). */
export function scheduleDraftErrors(draft: ScheduleDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (["hourly", "daily", "weekly", "monthly"].includes(draft.preset) && !timeParts(draft.time)) {
    errors["schedule.time"] = "must be a time like 02:00";
  }
  if (draft.preset === "weekly" && draft.weekdays.length === 0) errors["schedule.weekdays"] = "pick at least one day";
  if (draft.preset === "monthly") {
    const day = Number(draft.monthDay);
    if (!/^\d+$/.test(draft.monthDay) || day < 1 || day > 28) {
      errors["schedule.monthDay"] = "must be a day from 1 to 28 (so every month has it)";
    }
  }
  if (draft.preset === "interval" && !/^\d+$/.test(draft.everyMinutes.trim())) {
    errors["schedule.everySeconds"] = "must be a whole number of minutes";
  }
  if (draft.preset !== "manual" && !/^\d*$/.test(draft.randomDelayMinutes.trim())) {
    errors["schedule.randomDelaySeconds"] = "must be a whole number of minutes";
  }
  return errors;
}

/** The schedule_json the server validates; a form problem yields a best effort the schema then refuses. */
export function scheduleFromDraft(draft: ScheduleDraft): Schedule {
  const randomDelaySeconds = Number(draft.randomDelayMinutes.trim() || "0") * 60;
  const { hour, minute } = timeParts(draft.time) ?? { hour: 0, minute: 0 };
  const cronOf = (expression: string): Schedule => ({
    kind: "cron",
    cron: expression,
    timezone: draft.timezone,
    randomDelaySeconds,
  });
  switch (draft.preset) {
    case "manual":
      return { kind: "manual" };
    case "interval":
      return { kind: "interval", everySeconds: Number(draft.everyMinutes.trim()) * 60, randomDelaySeconds };
    case "hourly":
      return cronOf(`${minute} * * * *`);
    case "daily":
      return cronOf(`${minute} ${hour} * * *`);
    case "weekly":
      return cronOf(`${minute} ${hour} * * ${[...draft.weekdays].sort((a, b) => a - b).join(",")}`);
    case "monthly":
      return cronOf(`${minute} ${hour} ${Number(draft.monthDay)} * *`);
    default:
      return cronOf(draft.cron.trim());
  }
}

const pad = (value: number) => String(value).padStart(2, "0");

/** A stored schedule back into the form: the preset it was made from where it matches one, else the cron field. */
export function draftFromSchedule(schedule: Schedule, fallbackZone = localTimeZone()): ScheduleDraft {
  const draft = defaultScheduleDraft(fallbackZone);
  if (schedule.kind === "manual") return { ...draft, preset: "manual" };
  draft.randomDelayMinutes = String(Math.round((schedule.randomDelaySeconds ?? 0) / 60));
  if (schedule.kind === "interval") {
    return { ...draft, preset: "interval", everyMinutes: String(Math.round(schedule.everySeconds / 60)) };
  }
  draft.timezone = schedule.timezone;
  draft.cron = schedule.cron;
  const fields = schedule.cron.trim().split(/\s+/);
  const [minute, hour, day, month, weekday] = fields;
  const number = (value: string | undefined) => (value !== undefined && /^\d+$/.test(value) ? Number(value) : null);
  if (fields.length === 5 && number(minute) !== null && month === "*") {
    const m = number(minute)!;
    const h = number(hour);
    if (hour === "*" && day === "*" && weekday === "*") return { ...draft, preset: "hourly", time: `00:${pad(m)}` };
    if (h !== null && day === "*" && weekday === "*") return { ...draft, preset: "daily", time: `${pad(h)}:${pad(m)}` };
    if (h !== null && day === "*" && weekday && /^[0-6](,[0-6])*$/.test(weekday)) {
      return { ...draft, preset: "weekly", time: `${pad(h)}:${pad(m)}`, weekdays: weekday.split(",").map(Number) };
    }
    const d = number(day);
    if (h !== null && d !== null && d >= 1 && d <= 28 && weekday === "*") {
      return { ...draft, preset: "monthly", time: `${pad(h)}:${pad(m)}`, monthDay: String(d) };
    }
  }
  return { ...draft, preset: "cron" };
}

function minutesInWords(minutes: number): string {
  if (minutes % 1440 === 0) return minutes === 1440 ? "day" : `${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? "hour" : `${minutes / 60} hours`;
  return minutes === 1 ? "minute" : `${minutes} minutes`;
}

/** "Every day at 02:00 (Europe/Berlin)", "Every 6 hours", "Only when started by hand". */
export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === "manual") return "Only when started by hand (Run now)";
  const delay = schedule.randomDelaySeconds
    ? `, each start up to ${minutesInWords(Math.round(schedule.randomDelaySeconds / 60))} later at random`
    : "";
  if (schedule.kind === "interval") {
    return `Every ${minutesInWords(Math.round(schedule.everySeconds / 60))}${delay}`;
  }
  const zone = ` (${schedule.timezone})`;
  const draft = draftFromSchedule(schedule, schedule.timezone);
  switch (draft.preset) {
    case "hourly":
      return `Every hour at minute ${draft.time.slice(3)}${zone}${delay}`;
    case "daily":
      return `Every day at ${draft.time}${zone}${delay}`;
    case "weekly": {
      const days = draft.weekdays.map((day) => weekdayNames[day]);
      const list =
        days.length === 5 && draft.weekdays.join(",") === "1,2,3,4,5"
          ? "weekday (Monday to Friday)"
          : days.length > 1
            ? `${days.slice(0, -1).join(", ")} and ${days.at(-1)}`
            : days[0];
      return `Every ${list} at ${draft.time}${zone}${delay}`;
    }
    case "monthly":
      return `On day ${draft.monthDay} of every month at ${draft.time}${zone}${delay}`;
    default:
      return `Custom schedule: cron "${schedule.cron}"${zone}${delay}`;
  }
}

/** Time zones the browser knows, for the zone picker (UTC first). */
export function timeZones(): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  return ["UTC", ...supported.filter((zone) => zone !== "UTC")];
}
