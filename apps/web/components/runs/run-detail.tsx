"use client";

import type { AppRouter } from "@e3/api/routers";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useSubscription } from "@trpc/tanstack-react-query";
import { ArrowLeft, ExternalLink, Info, Square, WifiOff } from "lucide-react";
import Link from "next/link";
import { useEffect, useState } from "react";
import { formatBytes, formatCount } from "../../lib/format.ts";
import { isFinished, runTypeLabel } from "../../lib/run-labels.ts";
import { useTRPC } from "../../lib/trpc-client.tsx";
import { Button } from "../ui/button.tsx";
import { Card, CardBody, CardHeader } from "../ui/card.tsx";
import { ConfirmDialog } from "../ui/confirm-dialog.tsx";
import { CopyButton } from "../ui/copy-button.tsx";
import { ErrorState } from "../ui/error-state.tsx";
import { PageHeader } from "../ui/page-header.tsx";
import { AbsoluteTime, RelativeTime } from "../ui/relative-time.tsx";
import { Skeleton } from "../ui/skeleton.tsx";
import { StatusBadge } from "../ui/status-badge.tsx";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "../ui/tabs.tsx";
import { EventTimeline } from "./event-timeline.tsx";
import { LiveProgress } from "./live-progress.tsx";
import { readProgress } from "./progress.ts";
import { RunLog } from "./run-log.tsx";

type LiveSnapshot = inferRouterOutputs<AppRouter>["runs"]["live"] extends AsyncIterable<infer T> ? T : never;

function Summary({ stats }: { stats: unknown }) {
  if (!stats || typeof stats !== "object") return null;
  const s = stats as Record<string, unknown>;
  const rows: [string, string][] = [];
  const count = (key: string, label: string) =>
    typeof s[key] === "number" && rows.push([label, formatCount(s[key] as number)]);
  const bytes = (key: string, label: string) =>
    typeof s[key] === "number" && rows.push([label, formatBytes(s[key] as number)]);
  count("totalFilesProcessed", "Files processed");
  count("filesNew", "New files");
  count("filesChanged", "Changed files");
  count("filesUnmodified", "Unchanged files");
  bytes("totalBytesProcessed", "Data processed");
  bytes("dataAdded", "Data added");
  bytes("dataAddedPacked", "Stored (compressed)");
  count("filesRestored", "Files restored");
  bytes("bytesRestored", "Data restored");
  count("uploaded", "Files uploaded");
  count("deleted", "Files deleted");
  if (rows.length === 0) return null;
  return (
    <dl className="grid grid-cols-2 gap-x-6 gap-y-3 sm:grid-cols-4" data-testid="run-summary">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt className="text-xs text-slate-600 dark:text-slate-400">{label}</dt>
          <dd className="text-sm font-medium tabular-nums">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * One run: its live progress while it runs (pushed over the runs.live subscription, which resubscribes after a
 * dropped connection and starts with the current state), the outcome, the event timeline and the log. The run page
 * (`/runs/[runId]`, for deep links) shows it as a page; the runs history opens it in a modal (`variant="dialog"`:
 * no page heading or back link, the dialog's title names it, and a link leads to the full page).
 */
export function RunDetail({ runId, variant = "page" }: { runId: string; variant?: "page" | "dialog" }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // Polled as the fallback while the run is in progress; the subscription below is what normally moves the page.
  const run = useQuery({
    ...trpc.runs.get.queryOptions({ runId }),
    refetchInterval: (query) => (query.state.data && !isFinished(query.state.data.status) ? 5000 : false),
  });
  const events = useQuery(trpc.runs.events.queryOptions({ runId }));
  const [confirmCancel, setConfirmCancel] = useState(false);
  const cancel = useMutation(trpc.runs.cancel.mutationOptions());
  const finishedBefore = run.data ? isFinished(run.data.status) : false;
  // The newest pushed snapshot, kept here because the subscription forgets its data when a stream closes.
  const [snapshot, setSnapshot] = useState<LiveSnapshot | null>(null);
  const live = useSubscription(
    trpc.runs.live.subscriptionOptions(
      { runId },
      { enabled: run.isSuccess && !finishedBefore, onData: (data) => setSnapshot(data) },
    ),
  );

  // A stream that closed while the run goes on (proxy timeout, server restart) is opened again.
  const snapshotFinished = snapshot ? isFinished(snapshot.run.status) : false;
  useEffect(() => {
    if (live.status !== "idle" && live.status !== "error") return;
    if (!run.isSuccess || finishedBefore || snapshotFinished) return;
    const timer = setTimeout(() => live.reset(), 1000);
    return () => clearTimeout(timer);
  }, [live.status, live.reset, run.isSuccess, finishedBefore, snapshotFinished]);

  // The stream ends when the run does: read the final row and events once more.
  useEffect(() => {
    if (snapshotFinished) {
      queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ runId }) });
      queryClient.invalidateQueries({ queryKey: trpc.runs.events.queryKey({ runId }) });
    }
  }, [snapshotFinished, queryClient, trpc, runId]);

  if (run.error) {
    return (
      <div className="space-y-6">
        {variant === "page" && <PageHeader title="Run" />}
        <ErrorState
          error={run.error}
          onRetry={run.error.data?.code === "NOT_FOUND" ? undefined : run.refetch}
          what="This run"
        />
        <Link href="/runs" className="text-sm font-medium text-sky-700 underline dark:text-sky-400">
          Back to all runs
        </Link>
      </div>
    );
  }
  if (!run.data) {
    return (
      <div className="space-y-6" aria-busy>
        <Skeleton className="h-9 w-72" />
        <Skeleton className="h-48 w-full" />
        <Skeleton className="h-96 w-full" />
      </div>
    );
  }

  // Whichever read is newer: the pushed snapshot or the (fallback) query.
  const pushed = snapshot && snapshot.run.updatedAt >= run.data.updatedAt ? snapshot : null;
  const current = pushed?.run ?? run.data;
  const jobName = run.data.job.name;
  const inProgress = !isFinished(current.status);
  const timeline = inProgress && pushed ? pushed.events : (events.data ?? snapshot?.events ?? []);
  const progress = readProgress(current.progressJson);
  const reconnecting = inProgress && snapshot !== null && (live.status === "connecting" || live.status === "error");

  const description = (
    <>
      {runTypeLabel(current.runType, current.engine)} · {current.trigger} · queued{" "}
      <RelativeTime date={current.createdAt} />
    </>
  );
  const cancelButton = inProgress && (
    <Button
      variant="danger"
      onClick={() => setConfirmCancel(true)}
      disabled={current.cancelRequestedAt !== null}
      data-testid="cancel-run"
    >
      <Square aria-hidden /> {current.cancelRequestedAt ? "Cancelling…" : "Cancel"}
    </Button>
  );

  return (
    <div className="space-y-6">
      {variant === "page" ? (
        <>
          <Link
            href="/runs"
            className="inline-flex items-center gap-1 text-sm text-slate-600 hover:underline dark:text-slate-400"
          >
            <ArrowLeft className="size-4" aria-hidden /> All runs
          </Link>
          <PageHeader
            title={
              <span className="flex flex-wrap items-center gap-3">
                {jobName}
                <StatusBadge status={current.status} reason={current.errorCode} />
              </span>
            }
            description={description}
            actions={cancelButton}
          />
        </>
      ) : (
        <div className="flex flex-wrap items-center justify-between gap-3">
          <div className="flex flex-wrap items-center gap-3 text-sm text-slate-600 dark:text-slate-400">
            <StatusBadge status={current.status} reason={current.errorCode} />
            <span>{description}</span>
          </div>
          <div className="flex flex-wrap items-center gap-2">
            {cancelButton}
            <Button asChild variant="ghost" size="sm">
              <Link href={`/runs/${runId}`}>
                <ExternalLink aria-hidden /> Open the run page
              </Link>
            </Button>
          </div>
        </div>
      )}

      {current.errorMessage && (
        <div
          role="status"
          className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200"
        >
          {current.errorMessage}
        </div>
      )}

      <Card aria-labelledby="progress-heading">
        <CardHeader
          id="progress-heading"
          title={inProgress ? "Live progress" : "Outcome"}
          actions={
            reconnecting ? (
              <span className="flex items-center gap-1.5 text-xs text-amber-700 dark:text-amber-400">
                <WifiOff className="size-4" aria-hidden /> Reconnecting…
              </span>
            ) : undefined
          }
        />
        <CardBody className="space-y-4">
          <LiveProgress
            progress={progress}
            status={current.status}
            startedAt={current.startedAt}
            finishedAt={current.finishedAt}
          />
          {!inProgress && <Summary stats={current.statsJson} />}
          {inProgress && (
            <p
              className="flex items-start gap-2 text-sm text-slate-600 dark:text-slate-400"
              data-testid="safe-to-close"
            >
              <Info className="mt-0.5 size-4 shrink-0" aria-hidden />
              The run happens on the agent. It is safe to close this page; come back any time to see where it is.
            </p>
          )}
          <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
            {current.startedAt && (
              <div>
                <dt className="inline text-slate-600 dark:text-slate-400">Started </dt>
                <dd className="inline">
                  <AbsoluteTime date={current.startedAt} />
                </dd>
              </div>
            )}
            {current.finishedAt && (
              <div>
                <dt className="inline text-slate-600 dark:text-slate-400">Finished </dt>
                <dd className="inline">
                  <AbsoluteTime date={current.finishedAt} />
                </dd>
              </div>
            )}
            {current.snapshotId && (
              <div className="flex items-center gap-2">
                <dt className="text-slate-600 dark:text-slate-400">Snapshot</dt>
                <dd className="flex items-center gap-2 font-mono text-xs">
                  {current.snapshotId.slice(0, 12)}
                  <CopyButton text={current.snapshotId} label="Copy snapshot id" size="icon" variant="ghost" />
                </dd>
              </div>
            )}
            {current.logRef && (
              <div>
                <dt className="inline text-slate-600 dark:text-slate-400">Log reference </dt>
                <dd className="inline font-mono text-xs break-all">{current.logRef}</dd>
              </div>
            )}
          </dl>
        </CardBody>
      </Card>

      <Card>
        <CardBody>
          <Tabs defaultValue="events">
            <TabsList aria-label="Run details">
              <TabsTrigger value="events">Events</TabsTrigger>
              <TabsTrigger value="log">Log</TabsTrigger>
            </TabsList>
            <TabsContent value="events">
              <ErrorState error={events.error} onRetry={events.refetch} what="The events" />
              {events.isPending && !snapshot ? <Skeleton lines={4} /> : <EventTimeline events={timeline} />}
            </TabsContent>
            <TabsContent value="log">
              <RunLog runId={runId} live={inProgress} />
            </TabsContent>
          </Tabs>
        </CardBody>
      </Card>

      <ConfirmDialog
        open={confirmCancel}
        onOpenChange={setConfirmCancel}
        title="Cancel this run?"
        description="The agent stops at the next safe point; what was already written stays consistent. A backup can simply be run again."
        confirmLabel="Cancel run"
        onConfirm={async () => {
          await cancel.mutateAsync({ runId });
          await queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ runId }) });
        }}
      />
    </div>
  );
}
