import { X } from "lucide-react";
import { StatusBadge } from "../ui/status-badge.tsx";
import { AdminLink } from "./bits.tsx";

const activeText: Record<string, string> = {
  queued: "Maintenance queued for the agent; it starts on the agent's next poll.",
  starting: "Maintenance starting on the agent.",
  running: "Maintenance running on the agent.",
};

const doneText: Record<string, string> = {
  success: "Maintenance finished.",
  warning: "Maintenance finished with warnings.",
  failed: "Maintenance failed.",
  cancelled: "Maintenance was cancelled.",
};

/**
 * The maintenance an admin just started, following its run: queued → starting/running → the result, which stays
 * until dismissed. `status` is undefined until the run shows up in the job's runs (it is then still queued).
 */
export function MaintenanceBanner({
  runId,
  status,
  onDismiss,
}: {
  runId: string;
  status: string | undefined;
  onDismiss: () => void;
}) {
  const current = status ?? "queued";
  const done = current in doneText;
  return (
    <div
      role="status"
      data-run-status={current}
      className="flex items-center gap-2 rounded-md border border-sky-300 bg-sky-50 px-3 py-2 text-sm text-sky-950 dark:border-sky-800 dark:bg-sky-950/40 dark:text-sky-100"
    >
      {done && <StatusBadge status={current} />}
      <span>
        {doneText[current] ?? activeText[current] ?? activeText.queued}{" "}
        <AdminLink href={`/admin/runs/${runId}`}>Open the run</AdminLink>
      </span>
      {done && (
        <button
          type="button"
          onClick={onDismiss}
          aria-label="Dismiss"
          className="ml-auto rounded p-1 hover:bg-sky-100 focus-visible:outline-2 dark:hover:bg-sky-900"
        >
          <X aria-hidden className="size-4" />
        </button>
      )}
    </div>
  );
}
