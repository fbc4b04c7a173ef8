import { clsx } from "clsx";
import Link from "next/link";
import { dotClasses } from "../../../components/ui/badge.tsx";
import { StatusBadge } from "../../../components/ui/status-badge.tsx";

type Day = { day: string; result: string };

const cellTone: Record<string, string> = {
  success: dotClasses.green,
  warning: dotClasses.amber,
  failed: dotClasses.red,
  overdue:
    "bg-amber-300 dark:bg-amber-700 bg-[repeating-linear-gradient(45deg,transparent,transparent_2px,rgb(0_0_0/0.15)_2px,rgb(0_0_0/0.15)_4px)]",
  cancelled: dotClasses.grey,
  none: "bg-slate-200 dark:bg-slate-800",
};

const resultLabel: Record<string, string> = {
  success: "success",
  warning: "warning",
  failed: "failed",
  overdue: "overdue, no backup",
  cancelled: "cancelled",
  none: "no run",
};

function summarize(days: Day[]): string {
  const counts = new Map<string, number>();
  for (const day of days) counts.set(day.result, (counts.get(day.result) ?? 0) + 1);
  return [...counts.entries()].map(([result, count]) => `${count} ${resultLabel[result] ?? result}`).join(", ");
}

/** One job's last 30 days: one cell per day (UTC), coloured by the worst result, overdue days hatched. */
export function HealthStrip({
  jobId,
  name,
  days,
  paused = false,
}: {
  jobId: string;
  name: string;
  days: Day[];
  paused?: boolean;
}) {
  return (
    <li className="grid grid-cols-1 items-center gap-1.5 sm:grid-cols-[12rem_1fr] sm:gap-4">
      <span className="flex min-w-0 items-center gap-2">
        <Link href={`/runs?jobId=${jobId}`} className="truncate text-sm font-medium hover:underline">
          {name}
        </Link>
        {paused && <StatusBadge status="paused" variant="dot" className="shrink-0" />}
      </span>
      <div role="img" aria-label={`${name}, last 30 days: ${summarize(days)}`} className="flex gap-0.5">
        {days.map((day) => (
          <span
            key={day.day}
            title={`${day.day} (UTC): ${resultLabel[day.result] ?? day.result}`}
            data-result={day.result}
            className={clsx("block h-6 min-w-1.5 flex-1 rounded-sm sm:max-w-3", cellTone[day.result] ?? cellTone.none)}
          />
        ))}
      </div>
    </li>
  );
}

export function HealthLegend() {
  return (
    <ul className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600 dark:text-slate-400">
      {(["success", "warning", "failed", "overdue", "cancelled", "none"] as const).map((result) => (
        <li key={result} className="flex items-center gap-1.5">
          <span className={clsx("block size-3 rounded-sm", cellTone[result])} aria-hidden />
          {resultLabel[result]}
        </li>
      ))}
    </ul>
  );
}
