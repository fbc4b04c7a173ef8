"use client";

import { useEffect, useState } from "react";
import {
  durationBetween,
  formatBytes,
  formatCount,
  formatDuration,
  formatSpeed,
  truncateMiddle,
} from "../../lib/format.ts";
import { ProgressBar } from "../ui/progress-bar.tsx";
import { Tooltip } from "../ui/tooltip.tsx";
import { phaseText, progressFraction, type RunProgressView } from "./progress.ts";

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-slate-600 dark:text-slate-400">{label}</dt>
      <dd className="truncate text-sm font-medium tabular-nums" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

function useTick(active: boolean): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(new Date()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/**
 * The live progress card of a running backup, sync, restore or maintenance: phase, bar (indeterminate while
 * scanning or before totals are known), files and bytes, speed, ETA, elapsed and the current file.
 */
export function LiveProgress({
  progress,
  status,
  startedAt,
  finishedAt,
}: {
  progress: RunProgressView;
  status: string;
  startedAt: Date | null;
  finishedAt: Date | null;
}) {
  const running = status === "running" || status === "starting";
  const now = useTick(running);
  const fraction = status === "success" ? 1 : progressFraction(progress);
  const phase = phaseText(status, progress.phase);
  const totalsKnown = progress.bytesTotal !== null || progress.filesTotal !== null;
  const of = (done: number | null, total: number | null, format: (n: number) => string) =>
    done === null ? "—" : total === null ? format(done) : `${format(done)} of ${format(total)}`;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <p className="text-base font-semibold" data-testid="live-phase">
          {phase}
        </p>
        <p className="text-sm text-slate-600 tabular-nums dark:text-slate-400" data-testid="live-percent">
          {fraction === null ? (running ? "Calculating…" : "") : `${Math.round(fraction * 100)} %`}
        </p>
      </div>
      <ProgressBar value={running || status === "success" ? fraction : (fraction ?? 0)} label="Run progress" />
      <dl className="grid grid-cols-2 gap-x-6 gap-y-3 sm:grid-cols-[repeat(auto-fill,minmax(11rem,1fr))]">
        <Stat
          label="Files"
          value={of(progress.filesDone, progress.filesTotal, (n) => formatCount(n))}
          testId="live-files"
        />
        <Stat
          label="Data"
          value={of(progress.bytesDone, progress.bytesTotal, (n) => formatBytes(n))}
          testId="live-bytes"
        />
        <Stat label="Speed" value={running ? formatSpeed(progress.bytesPerSecond) : "—"} testId="live-speed" />
        <Stat
          label="Time left"
          value={
            running
              ? progress.etaSeconds !== null
                ? formatDuration(progress.etaSeconds)
                : totalsKnown
                  ? "—"
                  : "Calculating…"
              : "—"
          }
          testId="live-eta"
        />
        <Stat
          label="Elapsed"
          value={formatDuration(durationBetween(startedAt, finishedAt, now))}
          testId="live-elapsed"
        />
        <Stat label="Errors" value={formatCount(progress.errors ?? 0)} />
      </dl>
      {progress.currentFile && running && (
        <div className="min-w-0 text-sm">
          <span className="text-slate-600 dark:text-slate-400">Current file: </span>
          <Tooltip content={progress.currentFile}>
            <button type="button" className="cursor-help font-mono text-xs" data-testid="live-current-file">
              {truncateMiddle(progress.currentFile, 60)}
            </button>
          </Tooltip>
        </div>
      )}
    </div>
  );
}
