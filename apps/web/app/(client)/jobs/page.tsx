"use client";

import type { Schedule } from "@e3/api/job-schemas";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArchiveRestore, BriefcaseBusiness, KeyRound, Pencil, Play, Plus } from "lucide-react";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { PauseControl } from "../../../components/jobs/pause-control.tsx";
import { RecoveryKeyDialog } from "../../../components/jobs/recovery-key-dialog.tsx";
import { Badge } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Card } from "../../../components/ui/card.tsx";
import { EmptyState } from "../../../components/ui/empty-state.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { AbsoluteTime, RelativeTime } from "../../../components/ui/relative-time.tsx";
import { SkeletonRows } from "../../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../../components/ui/status-badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../../../components/ui/table.tsx";
import { describeSchedule } from "../../../lib/job-wizard/schedule.ts";
import { useTRPC } from "../../../lib/trpc-client.tsx";

function JobsList() {
  const trpc = useTRPC();
  const router = useRouter();
  const saved = useSearchParams().get("saved");
  const queryClient = useQueryClient();
  const jobs = useQuery(trpc.jobs.list.queryOptions());
  const agents = useQuery(trpc.agents.list.queryOptions());
  const runNow = useMutation(
    trpc.jobs.runNow.mutationOptions({
      onSuccess: async ({ runId }) => {
        await queryClient.invalidateQueries(trpc.jobs.list.queryFilter());
        router.push(`/runs/${runId}`);
      },
    }),
  );
  const invalidate = () =>
    Promise.all([
      queryClient.invalidateQueries(trpc.jobs.list.queryFilter()),
      queryClient.invalidateQueries(trpc.dashboard.summary.queryFilter()),
    ]);
  const recoveryKeys = useQuery(trpc.jobs.recoveryKeys.queryOptions());
  const waitingKeys = new Set(recoveryKeys.data?.filter((key) => key.waiting).map((key) => key.jobId));
  const takeKey = useMutation(trpc.jobs.recoveryKey.mutationOptions());
  const pause = useMutation(trpc.jobs.pause.mutationOptions({ onSuccess: invalidate }));
  const resume = useMutation(trpc.jobs.resume.mutationOptions({ onSuccess: invalidate }));
  const pauseError = pause.error ?? resume.error;
  const agentName = (id: string) => agents.data?.find((agent) => agent.id === id)?.name ?? "—";
  return (
    <div className="space-y-6">
      <PageHeader
        title="Jobs"
        description="What each machine backs up or mirrors, where to, and when."
        actions={
          <Button asChild>
            <Link href="/jobs/new">
              <Plus aria-hidden /> New job
            </Link>
          </Button>
        }
      />
      {saved && (
        <p
          role="status"
          className="rounded-md bg-emerald-50 p-3 text-sm text-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-100"
        >
          The job was saved.
        </p>
      )}
      {jobs.error && <ErrorState error={jobs.error} onRetry={() => jobs.refetch()} what="The job list" />}
      {runNow.error && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          Could not start the run: {runNow.error.message}
        </p>
      )}
      {waitingKeys.size > 0 && (
        <p
          role="status"
          data-testid="recovery-keys-waiting"
          className="flex gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-100"
        >
          <KeyRound className="mt-0.5 size-4 shrink-0" aria-hidden />
          <span>
            A recovery passphrase is waiting for{" "}
            {jobs.data
              ?.filter((job) => waitingKeys.has(job.id))
              .map((job) => job.name)
              .join(", ")}
            . Download it with the job's Recovery passphrase button: it is handed out only once.
          </span>
        </p>
      )}
      {pauseError && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          Could not change the schedule: {pauseError.message}
        </p>
      )}
      {jobs.data?.length === 0 ? (
        <EmptyState
          icon={BriefcaseBusiness}
          title="No jobs yet"
          action={
            <Button asChild>
              <Link href="/jobs/new">Create the first job</Link>
            </Button>
          }
        >
          A job says which folders of which machine go where, and when.
        </EmptyState>
      ) : (
        <Card>
          <Table label="Jobs">
            <THead>
              <Tr>
                <Th>Name</Th>
                <Th>Mode</Th>
                <Th>Agent</Th>
                <Th>Destination</Th>
                <Th>Schedule</Th>
                <Th>Next run</Th>
                <Th>
                  <span className="sr-only">Actions</span>
                </Th>
              </Tr>
            </THead>
            <TBody>
              {jobs.isPending && <SkeletonRows columns={7} rows={3} />}
              {jobs.data?.map((job) => (
                <Tr key={job.id} data-testid="job-row">
                  <Td className="font-medium">
                    {job.name}
                    {!job.enabled && (
                      <Badge tone="grey" className="ml-2">
                        disabled
                      </Badge>
                    )}
                    {job.pausedAt && (
                      <span className="ml-2 inline-flex items-center gap-1" data-testid="job-paused">
                        <StatusBadge status="paused" />
                        {job.pausedUntil && (
                          <span className="text-xs font-normal text-slate-600 dark:text-slate-400">
                            until <AbsoluteTime date={job.pausedUntil} />
                          </span>
                        )}
                      </span>
                    )}
                  </Td>
                  <Td>
                    <Badge tone={job.engine === "backup" ? "blue" : "grey"}>{job.engine}</Badge>
                  </Td>
                  <Td>{agentName(job.agentId)}</Td>
                  <Td className="font-mono text-xs">
                    {job.destType === "s3"
                      ? `s3://${job.destBucket}${job.destPrefix ? `/${job.destPrefix}` : ""}`
                      : job.destLocalPath}
                  </Td>
                  <Td className="text-sm">{describeSchedule(job.scheduleJson as Schedule)}</Td>
                  <Td>
                    {job.pausedAt ? (
                      <span className="text-sm text-slate-600 dark:text-slate-400">paused</span>
                    ) : (
                      <RelativeTime date={job.nextRunAt} fallback="—" />
                    )}
                  </Td>
                  <Td>
                    <div className="flex justify-end gap-1">
                      <Button
                        size="sm"
                        variant="secondary"
                        onClick={() => runNow.mutate({ jobId: job.id })}
                        pending={runNow.isPending && runNow.variables?.jobId === job.id}
                      >
                        <Play aria-hidden /> Run now<span className="sr-only">: {job.name}</span>
                      </Button>
                      {waitingKeys.has(job.id) && (
                        <RecoveryKeyDialog
                          job={job}
                          take={() => takeKey.mutateAsync({ jobId: job.id })}
                          onTaken={() => queryClient.invalidateQueries(trpc.jobs.recoveryKeys.queryFilter())}
                        />
                      )}
                      <PauseControl
                        jobName={job.name}
                        paused={job.pausedAt !== null}
                        pending={
                          (pause.isPending && pause.variables?.jobId === job.id) ||
                          (resume.isPending && resume.variables?.jobId === job.id)
                        }
                        onPause={(until) => pause.mutate({ jobId: job.id, until })}
                        onResume={() => resume.mutate({ jobId: job.id })}
                      />
                      <Button size="sm" variant="ghost" asChild>
                        <Link href={`/jobs/${job.id}/edit`}>
                          <Pencil aria-hidden /> Edit<span className="sr-only">: {job.name}</span>
                        </Link>
                      </Button>
                      {job.engine === "backup" && (
                        <Button size="sm" variant="ghost" asChild>
                          <Link href={`/restore?jobId=${job.id}`}>
                            <ArchiveRestore aria-hidden /> Restore<span className="sr-only">: {job.name}</span>
                          </Link>
                        </Button>
                      )}
                    </div>
                  </Td>
                </Tr>
              ))}
            </TBody>
          </Table>
        </Card>
      )}
    </div>
  );
}

export default function JobsPage() {
  return (
    <Suspense>
      <JobsList />
    </Suspense>
  );
}
