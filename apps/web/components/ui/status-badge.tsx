import { clsx } from "clsx";
import { Badge, dotClasses, type Tone } from "./badge.tsx";
import { Tooltip } from "./tooltip.tsx";

// The fixed status vocabulary (product reference §4): one label and one colour per state everywhere in the portal.
// Green = good, amber = needs a look, red = failed, blue = in progress, grey = nothing happened.

export type StatusName =
  | "success"
  | "warning"
  | "failed"
  | "running"
  | "starting"
  | "queued"
  | "paused"
  | "skipped"
  | "overdue"
  | "cancelled"
  | "online"
  | "stale"
  | "offline"
  | "never"
  | "revoked"
  | "none";

export const statusVocabulary: Record<StatusName, { label: string; tone: Tone }> = {
  success: { label: "Success", tone: "green" },
  warning: { label: "Warning", tone: "amber" },
  failed: { label: "Failed", tone: "red" },
  running: { label: "Running", tone: "blue" },
  starting: { label: "Starting", tone: "blue" },
  queued: { label: "Queued", tone: "grey" },
  paused: { label: "Paused", tone: "grey" },
  skipped: { label: "Skipped", tone: "grey" },
  overdue: { label: "Overdue", tone: "amber" },
  cancelled: { label: "Cancelled", tone: "grey" },
  online: { label: "Online", tone: "green" },
  stale: { label: "Stale", tone: "amber" },
  offline: { label: "Offline", tone: "red" },
  never: { label: "Never connected", tone: "grey" },
  revoked: { label: "Revoked", tone: "grey" },
  none: { label: "No runs", tone: "grey" },
};

/** What the reason codes mean to someone reading a run list, and what to do about them. */
export const reasonCodes: Record<string, string> = {
  AGENT_OFFLINE: "The agent stopped reporting during the run (watchdog timeout). Check that the machine is on.",
  SOURCE_UNREADABLE: "Some files or folders could not be read; the log lists them.",
  NOT_SUPPORTED: "The agent cannot do this yet; update the agent.",
  COMMAND_EXPIRED: "The agent did not pick the command up in time. Check that it is online.",
  SCHEDULE_MISSED: "The run did not start in its slot, usually because the agent was offline.",
  CANCELLED: "Someone cancelled the run.",
  JOB_DELETED: "The job was deleted while the run waited.",
  RESTORE_INCOMPLETE: "Not every selected file was restored; the log lists which.",
  BUCKET_NOT_FOUND: "The destination bucket does not exist; create it or fix the job.",
  REPO_LOCKED: "Another process holds the repository lock; it is retried on the next run.",
  MAC_MISMATCH: "Repository data failed its integrity check; run a full check.",
};

export function isStatusName(value: string): value is StatusName {
  return value in statusVocabulary;
}

/**
 * A status pill (detail pages) or dot + label (lists, `variant="dot"`), with the reason code beside it when there is
 * one, e.g. Failed · AGENT_OFFLINE, explained in a tooltip.
 */
export function StatusBadge({
  status,
  reason,
  variant = "pill",
  className,
}: {
  status: string;
  reason?: string | null;
  variant?: "pill" | "dot";
  className?: string;
}) {
  const entry = isStatusName(status) ? statusVocabulary[status] : { label: status, tone: "grey" as Tone };
  const reasonText = reason ? (reasonCodes[reason] ?? reason) : null;
  const body =
    variant === "dot" ? (
      <span
        className={clsx("inline-flex items-center gap-1.5 text-sm whitespace-nowrap", className)}
        data-status={status}
      >
        <span className={clsx("size-2 shrink-0 rounded-full", dotClasses[entry.tone])} aria-hidden />
        {entry.label}
        {reason && <code className="text-xs text-slate-600 dark:text-slate-400">{reason}</code>}
      </span>
    ) : (
      <Badge tone={entry.tone} className={className} data-status={status}>
        {entry.label}
        {reason && (
          <>
            <span aria-hidden>·</span>
            <code className="font-mono">{reason}</code>
          </>
        )}
      </Badge>
    );
  if (!reasonText) return body;
  return (
    <Tooltip content={reasonText}>
      <button type="button" className="inline-flex cursor-help rounded-full">
        {body}
      </button>
    </Tooltip>
  );
}
