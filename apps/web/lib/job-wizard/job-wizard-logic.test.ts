import { createJobInputSchema } from "@e3/api/job-schemas";
import { describe, expect, it } from "vitest";
import { defaultDraft, inputFromDraft, type JobDraft, stepErrors, validateDraft } from "./draft.ts";
import { previewGlobs } from "./glob-preview.ts";
import { presetOf, retentionDraftFromPreset, retentionFromDraft } from "./retention.ts";
import { defaultScheduleDraft, describeSchedule, draftFromSchedule, scheduleFromDraft } from "./schedule.ts";

const agentId = "7d0c1e52-8f52-4c1e-9b35-1f4f1f6f7a10";

function completeDraft(): JobDraft {
  const draft = defaultDraft({ agentId, timezone: "Europe/Berlin" });
  draft.name = "Documents";
  draft.destination = {
    ...draft.destination,
    bucket: "acme-backups",
    accessKeyId: "AKIA",
    secretAccessKey: "secret",
  };
  draft.sourcePaths = ["/home/ann"];
  return draft;
}

describe("schedule presets", () => {
  it.each([
    [{ preset: "daily", time: "02:30" }, { kind: "cron", cron: "30 2 * * *" }, "Every day at 02:30 (Europe/Berlin)"],
    [
      { preset: "hourly", time: "00:15" },
      { kind: "cron", cron: "15 * * * *" },
      "Every hour at minute 15 (Europe/Berlin)",
    ],
    [
      { preset: "weekly", time: "22:00", weekdays: [5, 1, 3] },
      { kind: "cron", cron: "0 22 * * 1,3,5" },
      "Every Monday, Wednesday and Friday at 22:00 (Europe/Berlin)",
    ],
    [
      { preset: "weekly", time: "08:00", weekdays: [1, 2, 3, 4, 5] },
      { kind: "cron", cron: "0 8 * * 1,2,3,4,5" },
      "Every weekday (Monday to Friday) at 08:00 (Europe/Berlin)",
    ],
    [
      { preset: "monthly", time: "03:00", monthDay: "15" },
      { kind: "cron", cron: "0 3 15 * *" },
      "On day 15 of every month at 03:00 (Europe/Berlin)",
    ],
    [{ preset: "interval", everyMinutes: "360" }, { kind: "interval", everySeconds: 21_600 }, "Every 6 hours"],
    [{ preset: "manual" }, { kind: "manual" }, "Only when started by hand (Run now)"],
    [
      { preset: "cron", cron: "0 */4 * * 1-5" },
      { kind: "cron", cron: "0 */4 * * 1-5" },
      'Custom schedule: cron "0 */4 * * 1-5" (Europe/Berlin)',
    ],
  ] as const)("%o becomes %o and reads %s, and back", (fields, schedule, words) => {
    const draft = {
      ...defaultScheduleDraft("Europe/Berlin"),
      ...fields,
      weekdays: [...(("weekdays" in fields && fields.weekdays) || [1])],
    };
    const made = scheduleFromDraft(draft);
    expect(made).toMatchObject(schedule);
    expect(describeSchedule(made)).toBe(words);
    expect(draftFromSchedule(made, "UTC").preset).toBe(fields.preset);
  });

  it("mentions the random delay", () => {
    const schedule = scheduleFromDraft({ ...defaultScheduleDraft("UTC"), randomDelayMinutes: "30" });
    expect(describeSchedule(schedule)).toBe("Every day at 02:00 (UTC), each start up to 30 minutes later at random");
  });
});

describe("wizard validation with the server's schema", () => {
  it("accepts a complete draft exactly as jobs.create does", () => {
    const draft = completeDraft();
    expect(validateDraft(draft)).toEqual({});
    expect(createJobInputSchema.safeParse(inputFromDraft(draft)).success).toBe(true);
  });

  it("reports each problem on the step that owns the field", () => {
    const draft = defaultDraft({ timezone: "UTC" });
    draft.destination.bucket = "Not_A_Bucket";
    draft.schedule = { ...draft.schedule, preset: "daily", time: "25:00" };
    draft.retention = {
      ...draft.retention,
      mode: "only",
      keepWithinDaily: "",
      keepWithinWeekly: "",
      keepWithinMonthly: "",
      keepDaily: "x",
    };
    const errors = validateDraft(draft);
    expect(Object.keys(stepErrors(errors, "basics")).sort()).toEqual([
      "agentId",
      "destination.accessKeyId",
      "destination.bucket",
      "destination.secretAccessKey",
      "name",
    ]);
    expect(errors["destination.bucket"]).toContain("must be a valid S3 bucket name");
    expect(errors.agentId).toBe("pick one");
    expect(stepErrors(errors, "source")).toEqual({ sourcePaths: "pick at least one folder" });
    expect(stepErrors(errors, "schedule")).toEqual({ "schedule.time": "must be a time like 02:00" });
    expect(stepErrors(errors, "retention")).toEqual({ "retention.keepDaily": "must be a whole number" });
  });

  it("needs a retention rule in keep-only mode, but none for keep-everything or sync", () => {
    const draft = completeDraft();
    draft.retention = {
      ...retentionDraftFromPreset("smart"),
      keepWithinDaily: "",
      keepWithinWeekly: "",
      keepWithinMonthly: "",
    };
    expect(validateDraft(draft).retention).toBe("fill in at least one rule, or choose Keep everything");
    draft.retention.mode = "all";
    expect(validateDraft(draft)).toEqual({});
    expect(inputFromDraft(draft).retention).toBeNull();
    draft.retention.mode = "only";
    draft.engine = "sync";
    expect(validateDraft(draft)).toEqual({});
  });

  it("lets an edited job keep its stored S3 keys", () => {
    const draft = completeDraft();
    draft.destination.accessKeyId = "";
    draft.destination.secretAccessKey = "";
    expect(validateDraft(draft)["destination.accessKeyId"]).toBe("an S3 destination needs an access key id");
    expect(validateDraft(draft, { hasStoredKeys: true })).toEqual({});
    expect(inputFromDraft(draft).destination).not.toHaveProperty("accessKeyId");
  });

  it("refuses a cron expression the scheduler would refuse, on the schedule step", () => {
    const draft = completeDraft();
    draft.schedule = { ...draft.schedule, preset: "cron", cron: "61 * * * * *" };
    expect(stepErrors(validateDraft(draft), "schedule")["schedule.cron"]).toMatch(/cron/);
  });
});

describe("retention presets", () => {
  it("smart retention is Duplicati's week of dailies, month of weeklies and year of monthlies", () => {
    const draft = retentionDraftFromPreset("smart");
    expect(retentionFromDraft(draft)).toEqual({
      keepWithinDaily: "7d",
      keepWithinWeekly: "4w",
      keepWithinMonthly: "1y",
    });
    expect(presetOf(draft)).toBe("smart");
    expect(presetOf({ ...draft, keepLast: "3" })).toBeNull();
    expect(retentionFromDraft(retentionDraftFromPreset("classic"))).toEqual({
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 12,
    });
  });
});

describe("glob preview", () => {
  const entries = [
    { path: "/home/ann/cache", type: "dir" as const },
    { path: "/home/ann/cache/a.bin", type: "file" as const },
    { path: "/home/ann/notes.md", type: "file" as const },
    { path: "/home/ann/photo.jpg", type: "file" as const },
    { path: "/home/ann/tmp.tmp", type: "file" as const },
  ];
  const sources = ["/home/ann"];

  it("backup: restic's patterns; an excluded folder takes its contents, includes keep folders walkable", () => {
    const verdicts = previewGlobs("backup", entries, {
      includeGlob: "",
      excludeGlob: "cache\n*.tmp",
      sourcePaths: sources,
    });
    expect(verdicts.verdicts.map((v) => v.included)).toEqual([false, false, true, true, false]);
    const included = previewGlobs("backup", entries, { includeGlob: "*.md", excludeGlob: "", sourcePaths: sources });
    expect(included.verdicts.map((v) => v.included)).toEqual([true, false, true, false, false]);
  });

  it("sync: rclone's filter rules relative to the source folder", () => {
    const verdicts = previewGlobs("sync", entries, {
      includeGlob: "",
      excludeGlob: "cache/**, *.tmp",
      sourcePaths: sources,
    });
    expect(verdicts.verdicts.map((v) => v.included)).toEqual([false, false, true, true, false]);
    const anchored = previewGlobs("sync", entries, { includeGlob: "/*.jpg", excludeGlob: "", sourcePaths: sources });
    expect(anchored.verdicts.filter((v) => v.type === "file").map((v) => v.included)).toEqual([
      false,
      false,
      true,
      false,
    ]);
  });

  it("says what is wrong with a broken pattern instead of throwing", () => {
    const broken = previewGlobs("backup", entries, { includeGlob: "[abc", excludeGlob: "", sourcePaths: sources });
    expect(broken.error).toContain("[abc");
    expect(broken.verdicts).toEqual([]);
  });

  it("reads Windows paths the way the agent does", () => {
    const windows = previewGlobs("backup", [{ path: "C:\\Users\\ann\\x.tmp", type: "file" }], {
      includeGlob: "",
      excludeGlob: "*.tmp",
      sourcePaths: ["C:\\Users\\ann"],
    });
    expect(windows.verdicts[0]!.included).toBe(false);
  });
});
