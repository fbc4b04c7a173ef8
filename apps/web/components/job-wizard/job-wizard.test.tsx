// @vitest-environment happy-dom
import { planRetention } from "@e3/engine/retention";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { defaultDraft, type JobDraft, wizardSteps } from "../../lib/job-wizard/draft.ts";
import { useWizardSteps } from "../../lib/job-wizard/use-wizard-steps.ts";
import { TooltipProvider } from "../ui/tooltip.tsx";
import { BasicsStep, type S3Actions } from "./basics-step.tsx";
import { RetentionPreview, type RetentionPreviewData } from "./retention-preview.tsx";
import { RetentionStep } from "./retention-step.tsx";
import { ScheduleStep } from "./schedule-step.tsx";
import { WizardFrame } from "./wizard-frame.tsx";

// The wizard's validation as a user meets it: Next on an incomplete step shows the server schema's messages beside
// their fields, focuses the first one, and stays; a clean step moves on. And the retention preview shows the
// engine's own plan.

afterEach(cleanup);

const agents = [{ id: "7d0c1e52-8f52-4c1e-9b35-1f4f1f6f7a10", name: "Office PC", hostname: "office", state: "online" }];
const unusedS3: S3Actions = {
  test: () => Promise.reject(new Error("not used here")),
  buckets: () => Promise.reject(new Error("not used here")),
  createBucket: () => Promise.reject(new Error("not used here")),
};

/** The real frame and steps around the real step machine; only the server calls are left out. */
function Harness({ initial, finished }: { initial: JobDraft; finished: () => void }) {
  const [draft, setDraft] = useState(initial);
  const update = (mutate: (draft: JobDraft) => void) =>
    setDraft((current) => {
      const next = structuredClone(current);
      mutate(next);
      return next;
    });
  const wizard = useWizardSteps(draft, { onFinish: finished });
  const props = { draft, update, errors: wizard.errors };
  return (
    <TooltipProvider>
      <p data-testid="step">{wizard.current.id}</p>
      <WizardFrame steps={wizardSteps} current={wizard.step} onBack={wizard.back} onNext={wizard.next}>
        {wizard.current.id === "basics" && <BasicsStep {...props} agents={agents} s3={unusedS3} />}
        {wizard.current.id === "source" && <p>source step</p>}
        {wizard.current.id === "schedule" && (
          <ScheduleStep {...props} upcoming={{ dates: [], error: null, pending: false }} />
        )}
        {wizard.current.id === "retention" && (
          <RetentionStep {...props} preview={{ data: undefined, error: null, pending: false }} />
        )}
      </WizardFrame>
    </TooltipProvider>
  );
}

const next = () => fireEvent.click(screen.getByRole("button", { name: "Next" }));

describe("job wizard validation", () => {
  it("keeps an incomplete first step, names each problem beside its field and focuses the first", async () => {
    render(<Harness initial={defaultDraft({ timezone: "UTC" })} finished={() => {}} />);
    next();
    expect(screen.getByTestId("step").textContent).toBe("basics");
    const name = screen.getByLabelText(/Job name/);
    expect(name.getAttribute("aria-invalid")).toBe("true");
    expect(await screen.findByText("is required")).toBeTruthy();
    expect(screen.getByText("pick one")).toBeTruthy();
    expect(screen.getByText("an S3 destination needs a secret access key")).toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(document.activeElement).toBe(name);

    // A bucket name S3 would refuse gets the server schema's own message.
    fireEvent.change(name, { target: { value: "Documents" } });
    fireEvent.change(screen.getByLabelText(/Agent/), { target: { value: agents[0]!.id } });
    fireEvent.change(screen.getByLabelText(/Access key id/), { target: { value: "AKIA" } });
    fireEvent.change(screen.getByLabelText(/Secret access key/), { target: { value: "secret" } });
    fireEvent.change(screen.getByLabelText(/^Bucket/), { target: { value: "Bad_Bucket" } });
    next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const bucket = screen.getByLabelText(/^Bucket/);
    expect(screen.getByText(/must be a valid S3 bucket name/)).toBeTruthy();
    expect(document.activeElement).toBe(bucket);
    expect(screen.getByLabelText(/Job name/).getAttribute("aria-invalid")).toBeNull();

    fireEvent.change(bucket, { target: { value: "acme-backups" } });
    next();
    expect(screen.getByTestId("step").textContent).toBe("source");
    // The source step: no folder yet, so Next stays (its field is outside this harness's stand-in, so no focus).
    next();
    expect(screen.getByTestId("step").textContent).toBe("source");
  });

  it("refuses a cron expression the scheduler refuses, and a retention without any rule", async () => {
    const draft = defaultDraft({ agentId: agents[0]!.id, timezone: "Europe/Berlin" });
    draft.name = "Documents";
    draft.destination = { ...draft.destination, bucket: "acme-backups", accessKeyId: "a", secretAccessKey: "b" };
    draft.sourcePaths = ["/home/ann"];
    render(<Harness initial={draft} finished={() => {}} />);
    next();
    next();
    expect(screen.getByTestId("step").textContent).toBe("schedule");
    expect(screen.getByTestId("schedule-summary").textContent).toBe("Every day at 02:00 (Europe/Berlin)");

    fireEvent.change(screen.getByLabelText("Schedule"), { target: { value: "cron" } });
    const cron = screen.getByLabelText("Cron expression");
    fireEvent.change(cron, { target: { value: "0 25 * * *" } });
    next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(screen.getByText(/is not a valid cron expression/)).toBeTruthy();
    expect(document.activeElement).toBe(cron);
    fireEvent.change(cron, { target: { value: "30 1 * * 1-5" } });
    expect(screen.getByTestId("schedule-summary").textContent).toBe(
      'Custom schedule: cron "30 1 * * 1-5" (Europe/Berlin)',
    );
    next();
    expect(screen.getByTestId("step").textContent).toBe("retention");

    // Keep only… with every rule emptied: refused until a rule is there or Keep everything is chosen.
    for (const label of ["Daily within", "Weekly within", "Monthly within"]) {
      fireEvent.change(screen.getByLabelText(label), { target: { value: "" } });
    }
    fireEvent.change(screen.getByLabelText("Daily"), { target: { value: "seven" } });
    next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(screen.getByText("must be a whole number")).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByLabelText("Daily"));
    fireEvent.change(screen.getByLabelText("Daily"), { target: { value: "" } });
    next();
    expect(screen.getAllByText("fill in at least one rule, or choose Keep everything").length).toBeGreaterThan(0);
    fireEvent.click(screen.getByRole("button", { name: /^Smart/ }));
    next();
    expect(screen.getByTestId("step").textContent).toBe("review");
  });
});

describe("retention preview", () => {
  it("shows the engine's plan: which snapshots stay, which go, and restic's reasons", () => {
    const day = 86_400_000;
    const base = Date.UTC(2026, 10, 20, 2);
    const snapshots = Array.from({ length: 10 }, (_, i) => ({
      id: i.toString(16).padStart(64, "b"),
      time: new Date(base + i * day).toISOString(),
      hostname: "pc",
      paths: ["/home"],
    })).reverse();
    const plan = planRetention(snapshots, { keepLast: 2, keepWeekly: 2 }, { now: new Date(base + 11 * day) });
    const kept = new Map(plan.groups.flatMap((group) => group.keep.map((k) => [k.snapshot.id, k.reasons] as const)));
    const preview: RetentionPreviewData = {
      description: plan.description,
      simulated: false,
      planAt: new Date(base + 11 * day),
      keep: kept.size,
      remove: snapshots.length - kept.size,
      emptiedGroups: 0,
      snapshots: snapshots.map((snapshot, index) => ({
        snapshotId: snapshot.id,
        time: new Date(snapshot.time),
        sizeBytes: 1024 * (index + 1),
        fileCount: 10,
        keep: kept.has(snapshot.id),
        reasons: kept.get(snapshot.id) ?? [],
      })),
    };
    render(<RetentionPreview preview={preview} />);
    expect(screen.getByTestId("retention-verdict").textContent).toContain(
      "Of the 10 existing snapshots, the policy keeps 3 and deletes 7",
    );
    expect(screen.getByTestId("retention-verdict").textContent).toContain("keep 2 latest, 2 weekly snapshots");
    const rows = screen.getAllByTestId("retention-row");
    expect(rows.map((row) => row.getAttribute("data-keep"))).toEqual([
      "true",
      "true",
      "false",
      "false",
      "false",
      "false",
      "false",
      "true",
      "false",
      "false",
    ]);
    expect(within(rows[0]!).getByText("last snapshot, weekly snapshot")).toBeTruthy();
    expect(within(rows[7]!).getByText("weekly snapshot")).toBeTruthy();
    expect(within(rows[2]!).getByText("Delete")).toBeTruthy();
    expect(within(rows[2]!).getByText("no rule keeps it")).toBeTruthy();
  });

  it("warns when a policy would empty a group, and speaks of a simulated year for a new job", () => {
    render(
      <RetentionPreview
        preview={{
          description: "keep 1 yearly snapshots",
          simulated: true,
          planAt: new Date(),
          keep: 1,
          remove: 364,
          emptiedGroups: 1,
          snapshots: [],
        }}
      />,
    );
    expect(screen.getByTestId("retention-verdict").textContent).toContain("After a year of this schedule");
    expect(screen.getByRole("alert").textContent).toContain("would delete every snapshot of 1 group");
  });
});
