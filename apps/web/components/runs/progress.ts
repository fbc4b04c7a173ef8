// The run's progress_json as the agent reports it (contract.ts progressSchema), read defensively: old runs and other
// agents may leave fields out.

export type RunProgressView = {
  phase: string | null;
  filesDone: number | null;
  filesTotal: number | null;
  bytesDone: number | null;
  bytesTotal: number | null;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  currentFile: string | null;
  errors: number | null;
};

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

export function readProgress(json: unknown): RunProgressView {
  const p = json && typeof json === "object" ? (json as Record<string, unknown>) : {};
  const current = Array.isArray(p.currentFiles) ? p.currentFiles.find((f) => typeof f === "string") : null;
  return {
    phase: typeof p.phase === "string" ? p.phase : null,
    filesDone: num(p.filesDone),
    filesTotal: num(p.filesTotal),
    bytesDone: num(p.bytesDone),
    bytesTotal: num(p.bytesTotal),
    bytesPerSecond: num(p.bytesPerSecond),
    etaSeconds: num(p.etaSeconds),
    currentFile: (current as string | undefined) ?? null,
    errors: num(p.errors),
  };
}

/** The bar's fill: bytes when the total is known, else files; null (indeterminate) while scanning or unknown. */
export function progressFraction(progress: RunProgressView): number | null {
  if (progress.phase === "scanning") return null;
  if (progress.bytesTotal && progress.bytesTotal > 0 && progress.bytesDone !== null) {
    return progress.bytesDone / progress.bytesTotal;
  }
  if (progress.filesTotal && progress.filesTotal > 0 && progress.filesDone !== null) {
    return progress.filesDone / progress.filesTotal;
  }
  return null;
}

export const phaseLabels: Record<string, string> = {
  scanning: "Scanning",
  uploading: "Uploading",
  finalizing: "Finalizing",
  restoring: "Restoring",
  checking: "Checking",
  pruning: "Pruning",
  syncing: "Syncing",
};

/**
 * The live view's headline: what the run is doing now, or how it ended (a finished run's last reported phase is
 * not what it is doing: "Uploading" on a successful backup read as if it were still going).
 */
export function phaseText(status: string, phase: string | null): string {
  const label = phase ? (phaseLabels[phase] ?? phase) : null;
  switch (status) {
    case "queued":
      return "Waiting for the agent";
    case "starting":
      return "Starting";
    case "running":
      return label ?? "Working";
    case "success":
      return "Finished";
    case "warning":
      return "Finished with warnings";
    case "failed":
      return label ? `Failed while ${label.toLowerCase()}` : "Failed";
    case "cancelled":
      return label ? `Cancelled while ${label.toLowerCase()}` : "Cancelled";
    default:
      return label ?? "—";
  }
}
