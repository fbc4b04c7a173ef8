// Names for the seed's run vocabulary as people read them.

export type RunTypeName = "backup" | "restore" | "maintenance_quick" | "maintenance_full";

/** A run's kind: a sync job's "backup" run is a sync. */
export function runTypeLabel(runType: string, engine?: string | null): string {
  if (runType === "backup") return engine === "sync" ? "Sync" : "Backup";
  if (runType === "restore") return "Restore";
  if (runType === "maintenance_quick") return "Quick maintenance";
  if (runType === "maintenance_full") return "Full maintenance";
  return runType;
}

export const runTypeOptions: { value: RunTypeName; label: string }[] = [
  { value: "backup", label: "Backup / sync" },
  { value: "restore", label: "Restore" },
  { value: "maintenance_quick", label: "Quick maintenance" },
  { value: "maintenance_full", label: "Full maintenance" },
];

export const runStatusOptions = [
  { value: "queued", label: "Queued" },
  { value: "starting", label: "Starting" },
  { value: "running", label: "Running" },
  { value: "success", label: "Success" },
  { value: "warning", label: "Warning" },
  { value: "failed", label: "Failed" },
  { value: "cancelled", label: "Cancelled" },
] as const;

export const finishedStatuses = new Set(["success", "warning", "failed", "cancelled"]);

export function isFinished(status: string): boolean {
  return finishedStatuses.has(status);
}
