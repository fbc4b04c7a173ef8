"use client";

import { useMemo } from "react";
import { formatAbsolute } from "../../lib/format.ts";
import { describeSchedule, scheduleFromDraft, timeZones, weekdayNames } from "../../lib/job-wizard/schedule.ts";
import { Checkbox } from "../ui/checkbox.tsx";
import { Field } from "../ui/field.tsx";
import { Input, NativeSelect } from "../ui/input.tsx";
import type { StepProps } from "./step-props.ts";

export type UpcomingRuns = { dates: Date[] | undefined; error: string | null; pending: boolean };

const presets = [
  { value: "manual", label: "Manual only" },
  { value: "hourly", label: "Every hour" },
  { value: "daily", label: "Every day at…" },
  { value: "weekly", label: "Every week on…" },
  { value: "monthly", label: "Every month on day…" },
  { value: "interval", label: "At a fixed interval" },
  { value: "cron", label: "Advanced (cron)" },
] as const;

/** Step 3: when the job runs, in which time zone, with the next five run times the scheduler will use. */
export function ScheduleStep({ draft, update, errors, upcoming }: StepProps & { upcoming: UpcomingRuns }) {
  const schedule = draft.schedule;
  const zones = useMemo(() => timeZones(), []);
  const summary = useMemo(() => describeSchedule(scheduleFromDraft(schedule)), [schedule]);
  const set = (mutate: (s: typeof schedule) => void) => update((d) => mutate(d.schedule));
  return (
    <div className="space-y-6">
      <Field label="Schedule" error={errors.schedule}>
        <NativeSelect
          name="schedule.preset"
          value={schedule.preset}
          onChange={(event) =>
            set((s) => {
              s.preset = event.target.value as typeof s.preset;
            })
          }
        >
          {presets.map((preset) => (
            <option key={preset.value} value={preset.value}>
              {preset.label}
            </option>
          ))}
        </NativeSelect>
      </Field>

      <div className="grid gap-4 sm:grid-cols-2">
        {["hourly", "daily", "weekly", "monthly"].includes(schedule.preset) && (
          <Field
            label={schedule.preset === "hourly" ? "Minute past the hour (HH:MM, hour ignored)" : "Time"}
            error={errors["schedule.time"]}
          >
            <Input
              name="schedule.time"
              value={schedule.time}
              onChange={(event) =>
                set((s) => {
                  s.time = event.target.value;
                })
              }
              placeholder="02:00"
              inputMode="numeric"
            />
          </Field>
        )}
        {schedule.preset === "monthly" && (
          <Field label="Day of the month" error={errors["schedule.monthDay"]} description="1 to 28.">
            <Input
              name="schedule.monthDay"
              value={schedule.monthDay}
              onChange={(event) =>
                set((s) => {
                  s.monthDay = event.target.value;
                })
              }
              inputMode="numeric"
            />
          </Field>
        )}
        {schedule.preset === "interval" && (
          <Field label="Every (minutes)" error={errors["schedule.everySeconds"]} description="At least 5 minutes.">
            <Input
              name="schedule.everySeconds"
              value={schedule.everyMinutes}
              onChange={(event) =>
                set((s) => {
                  s.everyMinutes = event.target.value;
                })
              }
              inputMode="numeric"
            />
          </Field>
        )}
        {schedule.preset === "cron" && (
          <Field
            label="Cron expression"
            error={errors["schedule.cron"]}
            description="minute hour day-of-month month day-of-week, e.g. 0 */6 * * 1-5"
          >
            <Input
              name="schedule.cron"
              value={schedule.cron}
              onChange={(event) =>
                set((s) => {
                  s.cron = event.target.value;
                })
              }
              className="font-mono"
            />
          </Field>
        )}
        {schedule.preset !== "manual" && schedule.preset !== "interval" && (
          <Field label="Time zone" error={errors["schedule.timezone"]}>
            <NativeSelect
              name="schedule.timezone"
              value={schedule.timezone}
              onChange={(event) =>
                set((s) => {
                  s.timezone = event.target.value;
                })
              }
            >
              {(zones.includes(schedule.timezone) ? zones : [schedule.timezone, ...zones]).map((zone) => (
                <option key={zone} value={zone}>
                  {zone}
                </option>
              ))}
            </NativeSelect>
          </Field>
        )}
        {schedule.preset !== "manual" && (
          <Field
            label="Random start delay (minutes)"
            error={errors["schedule.randomDelaySeconds"]}
            description="Spreads many machines' starts so they do not hit the storage at the same second."
          >
            <Input
              name="schedule.randomDelaySeconds"
              value={schedule.randomDelayMinutes}
              onChange={(event) =>
                set((s) => {
                  s.randomDelayMinutes = event.target.value;
                })
              }
              inputMode="numeric"
            />
          </Field>
        )}
      </div>

      {schedule.preset === "weekly" && (
        <fieldset className="space-y-2">
          <legend className="text-sm font-medium">Days</legend>
          <div
            className="flex flex-wrap gap-4"
            id="schedule-weekdays"
            aria-invalid={errors["schedule.weekdays"] ? true : undefined}
          >
            {[1, 2, 3, 4, 5, 6, 0].map((day) => (
              <Checkbox
                key={day}
                label={weekdayNames[day]}
                checked={schedule.weekdays.includes(day)}
                onCheckedChange={(checked) =>
                  set((s) => {
                    s.weekdays = checked ? [...s.weekdays, day] : s.weekdays.filter((value) => value !== day);
                  })
                }
              />
            ))}
          </div>
          {errors["schedule.weekdays"] && (
            <p className="text-sm font-medium text-red-700 dark:text-red-400">{errors["schedule.weekdays"]}</p>
          )}
        </fieldset>
      )}

      <section
        aria-labelledby="schedule-summary-heading"
        className="space-y-2 rounded-md bg-slate-100 p-4 dark:bg-slate-800/60"
      >
        <h3 id="schedule-summary-heading" className="text-sm font-medium">
          Summary
        </h3>
        <p data-testid="schedule-summary">{summary}</p>
        {schedule.preset !== "manual" && (
          <div aria-live="polite">
            <h4 className="mt-2 text-sm font-medium">Next 5 runs</h4>
            {upcoming.error ? (
              <p className="text-sm text-red-700 dark:text-red-400">{upcoming.error}</p>
            ) : upcoming.pending || !upcoming.dates ? (
              <p className="text-sm text-slate-600 dark:text-slate-400">Working them out…</p>
            ) : (
              <ol className="list-decimal pl-5 text-sm" data-testid="next-runs">
                {upcoming.dates.map((date) => (
                  <li key={date.toISOString()}>
                    {formatAbsolute(date, schedule.preset === "interval" ? {} : { timeZone: schedule.timezone })}
                  </li>
                ))}
              </ol>
            )}
          </div>
        )}
      </section>
    </div>
  );
}
