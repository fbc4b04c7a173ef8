"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "../../../lib/trpc-client.tsx";

const cellTone: Record<string, string> = {
  success: "bg-emerald-500",
  warning: "bg-amber-500",
  failed: "bg-red-600",
  cancelled: "bg-slate-400",
  none: "bg-slate-200 dark:bg-slate-800",
};

function Count({ label, value, tone }: { label: string; value: number; tone: string }) {
  return (
    <li className="rounded-lg border border-slate-200 p-4 dark:border-slate-800">
      <div className={`text-3xl font-semibold ${tone}`} data-testid={`count-${label}`}>
        {value}
      </div>
      <div className="text-sm capitalize text-slate-600 dark:text-slate-400">{label}</div>
    </li>
  );
}

/** "Am I safe?" first: protected, overdue, failing and running counts, then each job's last 30 days. */
export default function DashboardPage() {
  const trpc = useTRPC();
  const summary = useQuery(trpc.dashboard.summary.queryOptions());

  if (summary.error?.data?.code === "UNAUTHORIZED") {
    return (
      <div>
        <p>
          Your session has ended.{" "}
          <Link href="/sign-in" className="underline">
            Sign in again
          </Link>
          .
        </p>
      </div>
    );
  }
  return (
    <div className="space-y-8">
      <h1 className="text-2xl font-semibold">Dashboard</h1>
      {summary.error && (
        <div role="alert" className="rounded-md border border-red-300 p-4 text-red-800 dark:text-red-200">
          The dashboard could not load: {summary.error.message}{" "}
          <button type="button" className="underline" onClick={() => summary.refetch()}>
            Retry
          </button>
        </div>
      )}
      <ul className="grid min-h-24 grid-cols-2 gap-3 sm:grid-cols-4" aria-busy={summary.isPending}>
        {summary.data && (
          <>
            <Count
              label="protected"
              value={summary.data.counts.protected}
              tone="text-emerald-700 dark:text-emerald-400"
            />
            <Count label="overdue" value={summary.data.counts.overdue} tone="text-amber-700 dark:text-amber-400" />
            <Count label="failing" value={summary.data.counts.failing} tone="text-red-700 dark:text-red-400" />
            <Count label="running" value={summary.data.counts.running} tone="text-sky-700 dark:text-sky-400" />
          </>
        )}
      </ul>
      <section aria-labelledby="jobs-heading" className="space-y-3">
        <h2 id="jobs-heading" className="text-lg font-semibold">
          Last 30 days
        </h2>
        {summary.data?.jobs.length === 0 && (
          <p className="text-slate-600 dark:text-slate-400">
            No backup jobs yet. Enroll a machine, then create a job for it.
          </p>
        )}
        <ul className="space-y-2">
          {summary.data?.jobs.map((job) => (
            <li key={job.jobId} className="flex items-center gap-4">
              <span className="w-48 truncate">{job.name}</span>
              <ol className="flex gap-0.5" aria-label={`${job.name}: one cell per day, worst result`}>
                {job.days.map((day) => (
                  <li key={day.day} title={`${day.day}: ${day.result === "none" ? "no run" : day.result}`}>
                    <span className={`block h-5 w-2.5 rounded-sm ${cellTone[day.result]}`} />
                  </li>
                ))}
              </ol>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
