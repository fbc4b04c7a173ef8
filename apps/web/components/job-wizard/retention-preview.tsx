"use client";

import { formatAbsolute, formatBytes } from "../../lib/format.ts";
import { Badge } from "../ui/badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../ui/table.tsx";

export type RetentionPreviewData = {
  description: string;
  simulated: boolean;
  planAt: Date;
  /** The zone whose days the plan counted (the job's schedule zone); times are shown in it. */
  timeZone?: string;
  keep: number;
  remove: number;
  emptiedGroups: number;
  snapshots: {
    snapshotId: string;
    time: Date;
    sizeBytes: number | null;
    fileCount: number | null;
    keep: boolean;
    reasons: string[];
  }[];
};

/**
 * Which snapshots a retention policy keeps or deletes, and why: the engine's plan (restic's forget rules) over the
 * job's snapshot catalog, or over a simulated year of the schedule for a new job.
 */
export function RetentionPreview({ preview, limit = 60 }: { preview: RetentionPreviewData; limit?: number }) {
  const shown = preview.snapshots.slice(0, limit);
  return (
    <div className="space-y-3">
      <p data-testid="retention-verdict">
        {preview.simulated ? (
          <>
            After a year of this schedule ({preview.snapshots.length} runs), the policy keeps{" "}
            <strong>{preview.keep}</strong> snapshots and deletes {preview.remove}.
          </>
        ) : preview.snapshots.length === 0 ? (
          <>This job has no snapshots yet; nothing would be deleted.</>
        ) : (
          <>
            Of the {preview.snapshots.length} existing snapshots, the policy keeps <strong>{preview.keep}</strong> and
            deletes <strong>{preview.remove}</strong> on the next retention pass.
          </>
        )}{" "}
        <span className="text-slate-600 dark:text-slate-400">({preview.description})</span>
      </p>
      {preview.emptiedGroups > 0 && (
        <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
          This policy would delete every snapshot of {preview.emptiedGroups} group(s); the agent refuses to do that
          unless forced.
        </p>
      )}
      {shown.length > 0 && (
        <Table label={preview.simulated ? "Simulated snapshots and their fate" : "Snapshots and their fate"}>
          <THead>
            <Tr>
              <Th>{preview.simulated ? "Run" : "Snapshot"}</Th>
              <Th>Verdict</Th>
              <Th>Why</Th>
              {!preview.simulated && <Th className="text-right">Size</Th>}
            </Tr>
          </THead>
          <TBody>
            {shown.map((snapshot) => (
              <Tr key={snapshot.snapshotId} data-testid="retention-row" data-keep={snapshot.keep}>
                <Td>
                  <span className="whitespace-nowrap">
                    {formatAbsolute(snapshot.time, { timeZone: preview.timeZone })}
                  </span>
                  {!preview.simulated && (
                    <span className="ml-2 font-mono text-xs text-slate-600 dark:text-slate-400">
                      {snapshot.snapshotId.slice(0, 8)}
                    </span>
                  )}
                </Td>
                <Td>{snapshot.keep ? <Badge tone="green">Keep</Badge> : <Badge tone="red">Delete</Badge>}</Td>
                <Td className="text-sm">{snapshot.keep ? snapshot.reasons.join(", ") : "no rule keeps it"}</Td>
                {!preview.simulated && <Td className="text-right">{formatBytes(snapshot.sizeBytes)}</Td>}
              </Tr>
            ))}
          </TBody>
        </Table>
      )}
      {preview.snapshots.length > shown.length && (
        <p className="text-sm text-slate-600 dark:text-slate-400">
          The newest {shown.length} of {preview.snapshots.length} are shown.
        </p>
      )}
    </div>
  );
}
