"use client";

import { useQuery } from "@tanstack/react-query";
import { clsx } from "clsx";
import {
  AlertOctagon,
  CalendarClock,
  CheckCircle2,
  Circle,
  Clock,
  type LucideIcon,
  ShieldAlert,
  ShieldCheck,
  WifiOff,
} from "lucide-react";
import Link from "next/link";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardBody, CardHeader } from "../../../components/ui/card.tsx";
import { EmptyState } from "../../../components/ui/empty-state.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../components/ui/relative-time.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../../components/ui/status-badge.tsx";
import { runTypeLabel } from "../../../lib/run-labels.ts";
import { useTRPC } from "../../../lib/trpc-client.tsx";
import { HealthLegend, HealthStrip } from "./health-strip.tsx";
import { StorageChart } from "./storage-chart.tsx";

function Count({ label, value, tone, icon: Icon }: { label: string; value: number; tone: string; icon: LucideIcon }) {
  return (
    <li className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <div className="flex items-center justify-between">
        <div className={clsx("text-3xl font-semibold tabular-nums", tone)} data-testid={`count-${label}`}>
          {value}
        </div>
        <Icon className={clsx("size-6", tone)} aria-hidden />
      </div>
      <div className="text-sm text-slate-600 capitalize dark:text-slate-400">{label}</div>
    </li>
  );
}

function Verdict({
  counts,
}: {
  counts: { jobs: number; protected: number; overdue: number; failing: number; paused: number };
}) {
  const trouble = counts.failing + counts.overdue;
  // Paused schedules are the user's choice: not a problem, but not protection either, so they are named apart.
  const active = counts.jobs - counts.paused;
  const safe = trouble === 0 && counts.protected === active && active > 0;
  const pausedNote =
    counts.paused > 0 ? ` ${counts.paused} ${counts.paused === 1 ? "job is" : "jobs are"} paused.` : "";
  return (
    <div
      data-testid="verdict"
      className={clsx(
        "flex items-center gap-3 rounded-lg border p-4",
        safe
          ? "border-emerald-300 bg-emerald-50 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950/40 dark:text-emerald-100"
          : trouble > 0
            ? "border-red-300 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950/40 dark:text-red-100"
            : "border-amber-300 bg-amber-50 text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-100",
      )}
    >
      {safe ? (
        <ShieldCheck className="size-7 shrink-0" aria-hidden />
      ) : (
        <ShieldAlert className="size-7 shrink-0" aria-hidden />
      )}
      <p className="text-lg font-semibold">
        {safe
          ? `You are protected: all ${active} active ${active === 1 ? "job" : "jobs"} backed up on schedule.${pausedNote}`
          : trouble > 0
            ? `${trouble} ${trouble === 1 ? "job needs" : "jobs need"} attention.${pausedNote}`
            : active === 0
              ? `Every job is paused: nothing is backed up on schedule until you resume one.`
              : `${active - counts.protected} of ${active} active jobs have no successful backup yet.${pausedNote}`}
      </p>
    </div>
  );
}

function GettingStarted({ hasAgent }: { hasAgent: boolean }) {
  const steps = [
    {
      done: hasAgent,
      title: "Enroll a machine",
      text: "Install the agent and enroll it with a one-time token.",
      href: "/agents",
    },
    {
      done: false,
      title: "Create a job",
      text: "Pick folders, a destination, a schedule and how long to keep snapshots.",
      href: "/jobs",
    },
    {
      done: false,
      title: "Run it and watch",
      text: "Start the first run and follow it live; try a restore afterwards.",
      href: "/runs",
    },
  ];
  return (
    <EmptyState icon={ShieldCheck} title="No backup jobs yet">
      <p>Three steps to your first protected machine:</p>
      <ol className="mt-4 space-y-3 text-left">
        {steps.map((step, index) => (
          <li key={step.title} className="flex gap-3">
            {step.done ? (
              <CheckCircle2
                className="mt-0.5 size-5 shrink-0 text-emerald-600 dark:text-emerald-400"
                aria-label="done"
              />
            ) : (
              <Circle className="mt-0.5 size-5 shrink-0 text-slate-400" aria-label="to do" />
            )}
            <div>
              <Link href={step.href} className="font-medium text-sky-700 underline dark:text-sky-400">
                {index + 1}. {step.title}
              </Link>
              <p>{step.text}</p>
            </div>
          </li>
        ))}
      </ol>
    </EmptyState>
  );
}

type Activity = NonNullable<ReturnType<typeof useActivity>["data"]>;
type Problem = Activity["problems"][number];

function useActivity() {
  const trpc = useTRPC();
  return useQuery({ ...trpc.dashboard.activity.queryOptions(), refetchInterval: 30_000 });
}

function ProblemRow({ problem }: { problem: Problem }) {
  switch (problem.kind) {
    case "job_failed":
    case "job_warning":
      return (
        <li className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2.5">
          <AlertOctagon className="size-4 shrink-0 text-red-600 dark:text-red-400" aria-hidden />
          <Link href={`/runs/${problem.runId}`} className="font-medium hover:underline">
            {problem.jobName}
          </Link>
          <StatusBadge status={problem.kind === "job_failed" ? "failed" : "warning"} reason={problem.errorCode} />
          {problem.errorMessage && (
            <span className="min-w-0 basis-full truncate text-sm text-slate-600 sm:basis-auto dark:text-slate-400">
              {problem.errorMessage}
            </span>
          )}
          <span className="ml-auto text-sm text-slate-600 dark:text-slate-400">
            <RelativeTime date={problem.at} />
          </span>
        </li>
      );
    case "job_overdue":
      return (
        <li className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2.5">
          <Clock className="size-4 shrink-0 text-amber-600 dark:text-amber-400" aria-hidden />
          <Link href={`/runs?jobId=${problem.jobId}`} className="font-medium hover:underline">
            {problem.jobName}
          </Link>
          <StatusBadge status="overdue" />
          <span className="ml-auto text-sm text-slate-600 dark:text-slate-400">
            since <RelativeTime date={problem.since} />
          </span>
        </li>
      );
    case "agent_unreachable":
      return (
        <li className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2.5">
          <WifiOff className="size-4 shrink-0 text-red-600 dark:text-red-400" aria-hidden />
          <Link href="/agents" className="font-medium hover:underline">
            {problem.agentName}
          </Link>
          <StatusBadge status={problem.connectivity} />
          <span className="ml-auto text-sm text-slate-600 dark:text-slate-400">
            {problem.connectivity === "never" ? "enrolled" : "last seen"} <RelativeTime date={problem.lastSeenAt} />
          </span>
        </li>
      );
  }
}

const countCards = [
  { label: "protected", tone: "text-emerald-700 dark:text-emerald-400", icon: ShieldCheck },
  { label: "overdue", tone: "text-amber-700 dark:text-amber-400", icon: Clock },
  { label: "failing", tone: "text-red-700 dark:text-red-400", icon: AlertOctagon },
  { label: "running", tone: "text-sky-700 dark:text-sky-400", icon: CalendarClock },
] as const;

/** "Am I safe?" first: the verdict and counts, then what needs attention, recent runs, next runs, history, storage. */
export default function DashboardPage() {
  const trpc = useTRPC();
  const summary = useQuery({ ...trpc.dashboard.summary.queryOptions(), refetchInterval: 30_000 });
  const activity = useActivity();
  const storage = useQuery(trpc.dashboard.storage.queryOptions({ days: 30 }));
  const empty = summary.data?.jobs.length === 0;

  return (
    <div className="space-y-6">
      <PageHeader title="Dashboard" />
      <ErrorState error={summary.error} onRetry={summary.refetch} what="The dashboard" />
      {summary.isPending ? (
        <Skeleton className="h-16 w-full" />
      ) : (
        summary.data && !empty && <Verdict counts={summary.data.counts} />
      )}
      <ul className="grid min-h-24 grid-cols-2 gap-3 lg:grid-cols-4" aria-busy={summary.isPending}>
        {countCards.map((card) =>
          summary.data ? (
            <Count key={card.label} {...card} value={summary.data.counts[card.label]} />
          ) : (
            <li key={card.label}>
              <Skeleton className="h-24" />
            </li>
          ),
        )}
      </ul>

      {empty && <GettingStarted hasAgent={(activity.data?.agentCount ?? 0) > 0} />}

      {!empty && (
        <Card aria-labelledby="problems-heading">
          <CardHeader id="problems-heading" title="Needs attention" />
          <CardBody className="py-1">
            <ErrorState error={activity.error} onRetry={activity.refetch} what="The problems list" />
            {activity.isPending ? (
              <div className="py-3">
                <Skeleton lines={2} />
              </div>
            ) : activity.data?.problems.length === 0 ? (
              <p className="flex items-center gap-2 py-3 text-sm text-slate-600 dark:text-slate-400">
                <CheckCircle2 className="size-4 text-emerald-600 dark:text-emerald-400" aria-hidden /> Nothing needs
                attention.
              </p>
            ) : (
              <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="problems">
                {activity.data?.problems.map((problem) => (
                  <ProblemRow
                    key={`${problem.kind}-${"jobId" in problem ? problem.jobId : problem.agentId}`}
                    problem={problem}
                  />
                ))}
              </ul>
            )}
          </CardBody>
        </Card>
      )}

      {!empty && (
        <div className="grid gap-6 lg:grid-cols-2">
          <Card aria-labelledby="recent-heading">
            <CardHeader
              id="recent-heading"
              title="Recent activity"
              actions={
                <Button asChild variant="ghost" size="sm">
                  <Link href="/runs">All runs</Link>
                </Button>
              }
            />
            <CardBody className="py-1">
              {activity.isPending ? (
                <div className="py-3">
                  <Skeleton lines={4} />
                </div>
              ) : activity.data?.recentRuns.length === 0 ? (
                <p className="py-3 text-sm text-slate-600 dark:text-slate-400">No runs yet.</p>
              ) : (
                <ul className="divide-y divide-slate-100 dark:divide-slate-800">
                  {activity.data?.recentRuns.map((run) => (
                    <li key={run.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2.5 text-sm">
                      <StatusBadge status={run.status} reason={run.errorCode} variant="dot" />
                      <Link href={`/runs/${run.id}`} className="min-w-0 truncate font-medium hover:underline">
                        {run.job.name}
                      </Link>
                      <span className="text-slate-600 dark:text-slate-400">{runTypeLabel(run.runType)}</span>
                      <span className="ml-auto text-slate-600 dark:text-slate-400">
                        <RelativeTime date={run.finishedAt ?? run.startedAt ?? run.createdAt} />
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </CardBody>
          </Card>
          <Card aria-labelledby="next-heading">
            <CardHeader id="next-heading" title="Next scheduled runs" />
            <CardBody className="py-1">
              {activity.isPending ? (
                <div className="py-3">
                  <Skeleton lines={3} />
                </div>
              ) : activity.data?.nextRuns.length === 0 ? (
                <p className="py-3 text-sm text-slate-600 dark:text-slate-400">
                  No scheduled runs: every job is manual or paused.
                </p>
              ) : (
                <ul className="divide-y divide-slate-100 dark:divide-slate-800">
                  {activity.data?.nextRuns.map((next) => (
                    <li key={next.jobId} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2.5 text-sm">
                      <CalendarClock className="size-4 text-slate-500" aria-hidden />
                      <span className="font-medium">{next.jobName}</span>
                      <span className="text-slate-600 dark:text-slate-400">on {next.agentName}</span>
                      <span className="ml-auto">
                        <RelativeTime date={next.at} />
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </CardBody>
          </Card>
        </div>
      )}

      {!empty && (
        <Card aria-labelledby="jobs-heading">
          <CardHeader
            id="jobs-heading"
            title="Last 30 days"
            description="One cell per day (UTC), coloured by the day's worst backup result."
          />
          <CardBody className="space-y-4">
            {summary.isPending ? (
              <Skeleton lines={3} />
            ) : (
              <ul className="space-y-2.5">
                {summary.data?.jobs.map((job) => (
                  <HealthStrip key={job.jobId} jobId={job.jobId} name={job.name} days={job.days} paused={job.paused} />
                ))}
              </ul>
            )}
            <HealthLegend />
          </CardBody>
        </Card>
      )}

      {!empty && (
        <Card aria-labelledby="storage-heading">
          <CardHeader
            id="storage-heading"
            title="Storage"
            description="What your snapshots reference against what is stored after dedup and compression."
          />
          <CardBody>
            <ErrorState error={storage.error} onRetry={storage.refetch} what="The storage history" />
            {storage.isPending ? (
              <Skeleton className="h-72 w-full" />
            ) : (
              storage.data && <StorageChart points={storage.data.points} />
            )}
          </CardBody>
        </Card>
      )}
    </div>
  );
}
