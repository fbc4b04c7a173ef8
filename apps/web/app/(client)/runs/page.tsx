"use client";

import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Activity, X } from "lucide-react";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { RunDialogLink } from "../../../components/runs/run-dialog.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Card } from "../../../components/ui/card.tsx";
import { EmptyState } from "../../../components/ui/empty-state.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { Field } from "../../../components/ui/field.tsx";
import { Input, NativeSelect } from "../../../components/ui/input.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../components/ui/relative-time.tsx";
import { SkeletonRows } from "../../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../../components/ui/status-badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../../../components/ui/table.tsx";
import { durationBetween, formatDuration, localTimeZone } from "../../../lib/format.ts";
import { type RunTypeName, runStatusOptions, runTypeLabel, runTypeOptions } from "../../../lib/run-labels.ts";
import { useTRPC } from "../../../lib/trpc-client.tsx";

type RunStatusName = (typeof runStatusOptions)[number]["value"];
const pageSize = 25;

/** yyyy-mm-dd in the browser's zone → that local midnight. */
function localDay(value: string, addDays = 0): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return undefined;
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + addDays);
}

function RunsView() {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const jobId = params.get("jobId") ?? "";
  const status = params.get("status") ?? "";
  const type = params.get("type") ?? "";
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const filtered = Boolean(jobId || status || type || from || to);

  function setFilter(name: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    router.replace(`${pathname}${next.size ? `?${next}` : ""}`, { scroll: false });
  }

  const jobs = useQuery(trpc.jobs.list.queryOptions());
  const input = {
    limit: pageSize,
    ...(jobId ? { jobId } : {}),
    ...(status ? { status: [status as RunStatusName] } : {}),
    ...(type ? { runType: [type as RunTypeName] } : {}),
    ...(from && localDay(from) ? { from: localDay(from) } : {}),
    ...(to && localDay(to, 1) ? { to: localDay(to, 1) } : {}),
  };
  const runs = useInfiniteQuery({
    ...trpc.runs.list.infiniteQueryOptions(input, { getNextPageParam: (page) => page.nextCursor }),
    refetchInterval: 15_000,
  });
  const rows = runs.data?.pages.flatMap((page) => page.runs) ?? [];
  const engineOf = new Map(jobs.data?.map((job) => [job.id, job.engine]) ?? []);

  return (
    <div className="space-y-6">
      <PageHeader title="Runs" description="Every backup, sync, restore and maintenance run, newest first." />
      <Card className="p-4">
        <form
          className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-5"
          onSubmit={(event) => event.preventDefault()}
        >
          <Field label="Job">
            <NativeSelect value={jobId} onChange={(event) => setFilter("jobId", event.target.value)}>
              <option value="">All jobs</option>
              {jobs.data?.map((job) => (
                <option key={job.id} value={job.id}>
                  {job.name}
                </option>
              ))}
            </NativeSelect>
          </Field>
          <Field label="Status">
            <NativeSelect value={status} onChange={(event) => setFilter("status", event.target.value)}>
              <option value="">Any status</option>
              {runStatusOptions.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </NativeSelect>
          </Field>
          <Field label="Type">
            <NativeSelect value={type} onChange={(event) => setFilter("type", event.target.value)}>
              <option value="">Any type</option>
              {runTypeOptions.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </NativeSelect>
          </Field>
          <Field label="From" description={localTimeZone()}>
            <Input
              type="date"
              value={from}
              max={to || undefined}
              onChange={(event) => setFilter("from", event.target.value)}
            />
          </Field>
          <Field label="To">
            <Input
              type="date"
              value={to}
              min={from || undefined}
              onChange={(event) => setFilter("to", event.target.value)}
            />
          </Field>
        </form>
        {filtered && (
          <Button variant="ghost" size="sm" className="mt-3" onClick={() => router.replace(pathname)}>
            <X aria-hidden /> Clear filters
          </Button>
        )}
      </Card>

      <ErrorState error={runs.error} onRetry={runs.refetch} what="The run list" />
      {runs.isSuccess && rows.length === 0 ? (
        <EmptyState icon={Activity} title={filtered ? "No runs match these filters" : "No runs yet"}>
          {filtered
            ? "Widen the dates or clear the filters."
            : "Runs appear here when a job runs, on schedule or with Run now."}
        </EmptyState>
      ) : (
        <Card>
          <Table label="Runs">
            <THead>
              <tr>
                <Th>Status</Th>
                <Th>Job</Th>
                <Th>Type</Th>
                <Th>Started</Th>
                <Th>Duration</Th>
                <Th>Details</Th>
              </tr>
            </THead>
            <TBody>
              {runs.isPending ? (
                <SkeletonRows columns={6} rows={8} />
              ) : (
                rows.map((run) => (
                  <Tr key={run.id} data-testid="run-row">
                    <Td>
                      <StatusBadge status={run.status} reason={run.errorCode} variant="dot" />
                    </Td>
                    <Td>
                      <RunDialogLink
                        runId={run.id}
                        title={`Run of ${run.job.name}`}
                        className="font-medium text-sky-700 hover:underline dark:text-sky-400"
                      >
                        {run.job.name}
                      </RunDialogLink>
                    </Td>
                    <Td className="whitespace-nowrap">
                      {runTypeLabel(run.runType, engineOf.get(run.jobId) ?? run.engine)}
                    </Td>
                    <Td>
                      <RelativeTime date={run.startedAt ?? run.createdAt} />
                    </Td>
                    <Td className="whitespace-nowrap tabular-nums">
                      {run.startedAt ? formatDuration(durationBetween(run.startedAt, run.finishedAt)) : "—"}
                    </Td>
                    <Td
                      className="max-w-80 truncate text-slate-600 dark:text-slate-400"
                      title={run.errorMessage ?? undefined}
                    >
                      {run.errorMessage ?? run.trigger}
                    </Td>
                  </Tr>
                ))
              )}
            </TBody>
          </Table>
          {runs.hasNextPage && (
            <div className="border-t border-slate-200 p-3 text-center dark:border-slate-800">
              <Button variant="secondary" onClick={() => runs.fetchNextPage()} pending={runs.isFetchingNextPage}>
                Load more
              </Button>
            </div>
          )}
        </Card>
      )}
    </div>
  );
}

export default function RunsPage() {
  return (
    <Suspense>
      <RunsView />
    </Suspense>
  );
}
