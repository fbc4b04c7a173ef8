import type { Retention } from "@e3/api/job-schemas";

// The retention form: "keep everything" or "keep only…" with restic's rules as number and duration fields, and two
// presets. Field values stay strings while typed; the draft becomes the job's retention_json for the server schema.

export const countRules = [
  { key: "keepLast", label: "Latest snapshots", hint: "the newest N, whatever their age" },
  { key: "keepHourly", label: "Hourly", hint: "the newest of each of the last N hours that have one" },
  { key: "keepDaily", label: "Daily", hint: "the newest of each of the last N days that have one" },
  { key: "keepWeekly", label: "Weekly", hint: "the newest of each of the last N weeks (ISO weeks)" },
  { key: "keepMonthly", label: "Monthly", hint: "the newest of each of the last N months" },
  { key: "keepYearly", label: "Yearly", hint: "the newest of each of the last N years" },
] as const;

export const durationRules = [
  { key: "keepWithin", label: "Everything within", hint: "every snapshot newer than this, e.g. 14d" },
  { key: "keepWithinDaily", label: "Daily within", hint: "one a day for this long, e.g. 7d" },
  { key: "keepWithinWeekly", label: "Weekly within", hint: "one a week for this long, e.g. 4w" },
  { key: "keepWithinMonthly", label: "Monthly within", hint: "one a month for this long, e.g. 1y" },
  { key: "keepWithinYearly", label: "Yearly within", hint: "one a year for this long, e.g. 10y" },
] as const;

type CountKey = (typeof countRules)[number]["key"];
type DurationKey = (typeof durationRules)[number]["key"];

export type RetentionDraft = { mode: "all" | "only" } & Record<CountKey | DurationKey, string>;

const emptyRules = Object.fromEntries([...countRules, ...durationRules].map((rule) => [rule.key, ""])) as Record<
  CountKey | DurationKey,
  string
>;

export const retentionPresets = {
  /** Duplicati's "smart retention": a week of dailies, a month of weeklies, a year of monthlies. */
  smart: { keepWithinDaily: "7d", keepWithinWeekly: "4w", keepWithinMonthly: "1y" },
  /** The classic restic line: 7 daily, 4 weekly, 12 monthly. */
  classic: { keepDaily: "7", keepWeekly: "4", keepMonthly: "12" },
} as const satisfies Record<string, Partial<Record<CountKey | DurationKey, string>>>;
export type RetentionPreset = keyof typeof retentionPresets;

export function retentionDraftFromPreset(preset: RetentionPreset): RetentionDraft {
  return { mode: "only", ...emptyRules, ...retentionPresets[preset] };
}

export function defaultRetentionDraft(): RetentionDraft {
  return retentionDraftFromPreset("smart");
}

/** Which preset the draft equals, if any (the preset buttons show it as chosen). */
export function presetOf(draft: RetentionDraft): RetentionPreset | null {
  if (draft.mode !== "only") return null;
  for (const [name, values] of Object.entries(retentionPresets) as [RetentionPreset, Record<string, string>][]) {
    const wanted = { ...emptyRules, ...values } as Record<string, string>;
    if (Object.entries(wanted).every(([key, value]) => (draft as Record<string, string>)[key]?.trim() === value)) {
      return name;
    }
  }
  return null;
}

export function retentionDraftFrom(retention: Retention | null | undefined): RetentionDraft {
  if (!retention) return { mode: "all", ...emptyRules };
  const draft: RetentionDraft = { mode: "only", ...emptyRules };
  for (const rule of [...countRules, ...durationRules]) {
    const value = retention[rule.key];
    if (value !== undefined && value !== null) draft[rule.key] = String(value);
  }
  return draft;
}

/** Fields that are not numbers where numbers belong, in the form's words. */
export function retentionDraftErrors(draft: RetentionDraft): Record<string, string> {
  if (draft.mode === "all") return {};
  const errors: Record<string, string> = {};
  for (const rule of countRules) {
    const value = draft[rule.key].trim();
    if (value && !/^\d+$/.test(value)) errors[`retention.${rule.key}`] = "must be a whole number";
  }
  return errors;
}

/** null keeps every snapshot; otherwise the rules that are filled in. */
export function retentionFromDraft(draft: RetentionDraft): Retention | null {
  if (draft.mode === "all") return null;
  const retention: Record<string, string | number> = {};
  for (const rule of countRules) {
    const value = draft[rule.key].trim();
    if (value) retention[rule.key] = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  }
  for (const rule of durationRules) {
    const value = draft[rule.key].trim();
    if (value) retention[rule.key] = value;
  }
  return retention as Retention;
}
