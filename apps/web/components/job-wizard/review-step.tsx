"use client";

import { useState } from "react";
import type { FieldErrors, JobInput } from "../../lib/job-wizard/draft.ts";
import { describeSchedule } from "../../lib/job-wizard/schedule.ts";
import { Button } from "../ui/button.tsx";
import { Checkbox } from "../ui/checkbox.tsx";

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid gap-1 py-2 sm:grid-cols-[12rem_1fr]">
      <dt className="text-sm font-medium text-slate-600 dark:text-slate-400">{label}</dt>
      <dd className="text-sm break-words">{children}</dd>
    </div>
  );
}

/** The job as it will be saved, with secrets masked in the JSON view. */
export function maskedJson(input: JobInput): string {
  const copy = structuredClone(input) as JobInput & { destination: Record<string, unknown> };
  if ("secretAccessKey" in copy.destination) copy.destination.secretAccessKey = "••••••••";
  if ("accessKeyId" in copy.destination) copy.destination.accessKeyId = "••••••••";
  return JSON.stringify(copy, null, 2);
}

/** Step 5: everything at a glance before saving, and the JSON for those who want it. */
export function ReviewStep({
  input,
  agentName,
  errors,
  enabled,
  onEnabledChange,
}: {
  input: JobInput;
  agentName: string;
  errors: FieldErrors;
  enabled: boolean;
  onEnabledChange: (enabled: boolean) => void;
}) {
  const [showJson, setShowJson] = useState(false);
  const destination = input.destination;
  const retention = input.retention;
  const problems = Object.entries(errors);
  return (
    <div className="space-y-4">
      {problems.length > 0 && (
        <div role="alert" className="rounded-md border border-red-300 p-3 text-sm text-red-800 dark:text-red-200">
          <p className="font-medium">Fix these first:</p>
          <ul className="list-disc pl-5">
            {problems.map(([path, message]) => (
              <li key={path}>
                {path}: {message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <dl className="divide-y divide-slate-200 dark:divide-slate-800">
        <Row label="Name">{input.name}</Row>
        <Row label="Mode">
          {input.engine === "backup"
            ? "Backup (versioned snapshots)"
            : input.policy.syncMode === "sync"
              ? "Sync, mirroring deletions (files deleted on the machine are deleted at the destination)"
              : "Sync, copy only (nothing is ever deleted at the destination)"}
        </Row>
        <Row label="Agent">{agentName}</Row>
        <Row label="Destination">
          {destination.type === "local"
            ? `Folder ${destination.path} on the agent`
            : `s3 ${destination.endpoint ?? "(provider endpoint)"} / ${destination.bucket}${destination.prefix ? `/${destination.prefix}` : ""}${destination.bucketAutoCreate ? " (created on the first run if missing)" : ""}`}
        </Row>
        <Row label="Source">
          <ul>
            {input.sourcePaths.map((path) => (
              <li key={path} className="font-mono">
                {path}
              </li>
            ))}
          </ul>
        </Row>
        {(input.includeGlob || input.excludeGlob) && (
          <Row label="Patterns">
            {input.includeGlob && <div>Include: {input.includeGlob.replace(/\n/g, ", ")}</div>}
            {input.excludeGlob && <div>Exclude: {input.excludeGlob.replace(/\n/g, ", ")}</div>}
          </Row>
        )}
        <Row label="Schedule">{describeSchedule(input.schedule)}</Row>
        {input.engine === "backup" && (
          <Row label="Retention">
            {retention
              ? Object.entries(retention)
                  .map(([rule, value]) => `${rule} ${value}`)
                  .join(", ")
              : "Keep everything"}
          </Row>
        )}
        <Row label="Policy">
          {[
            input.engine === "backup" ? `compression ${input.compression}` : null,
            input.bandwidthLimitKbps ? `limit ${input.bandwidthLimitKbps} KiB/s` : "no bandwidth limit",
            input.policy.bandwidthTimetable ? `timetable ${input.policy.bandwidthTimetable}` : null,
            input.parallelism ? `${input.parallelism} files at once` : null,
            input.engine === "backup"
              ? `encryption ${input.encryptionMode === "managed" ? "managed" : "agent-held"}`
              : null,
          ]
            .filter(Boolean)
            .join(" · ")}
        </Row>
      </dl>
      <Checkbox
        label="Enabled (runs on its schedule)"
        checked={enabled}
        onCheckedChange={(c) => onEnabledChange(c === true)}
      />
      <div>
        <Button variant="ghost" size="sm" aria-expanded={showJson} onClick={() => setShowJson(!showJson)}>
          {showJson ? "Hide JSON" : "Show JSON"}
        </Button>
        {showJson && (
          <pre
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
            tabIndex={0}
            className="mt-2 max-h-96 overflow-auto rounded-md bg-slate-100 p-3 text-xs dark:bg-slate-800"
            data-testid="job-json"
          >
            {maskedJson(input)}
          </pre>
        )}
      </div>
    </div>
  );
}
