"use client";

import { formatDuration } from "../../lib/format.ts";
import { RunDialogLink } from "../runs/run-dialog.tsx";
import { StatusBadge } from "../ui/status-badge.tsx";
import { type Column, DataTable } from "../ui/table.tsx";
import { AdminRunDetail } from "./admin-run-detail.tsx";
import { AdminLink, adminLinkClass, destinationText, runTypeLabels } from "./bits.tsx";

export type AdminRunRow = {
  id: string;
  runType: string;
  status: string;
  engine: string;
  destType: string;
  destBucket: string | null;
  destPrefix: string | null;
  destLocalPath: string | null;
  logRef: string | null;
  errorCode: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  jobId: string;
  tenantId: string;
  agentId: string | null;
  job?: { name: string } | null;
  tenant?: { name: string } | null;
  agent?: { name: string } | null;
};

function duration(run: AdminRunRow): string {
  if (!run.startedAt) return "—";
  const end = run.finishedAt ?? new Date();
  return formatDuration((end.getTime() - run.startedAt.getTime()) / 1000);
}

/**
 * The admin runs table with the seed's engine / destination / log_ref columns. `show` picks the context columns
 * (a job's page leaves out the job and tenant). A run's time opens the run in a modal over the table; it stays a real
 * link to the admin run page (middle or modified clicks, copy link).
 */
export function AdminRunTable({
  runs,
  label,
  show = { tenant: true, job: true, agent: true },
}: {
  runs: AdminRunRow[] | undefined;
  label: string;
  show?: { tenant?: boolean; job?: boolean; agent?: boolean };
}) {
  const columns: (Column<AdminRunRow> | false | undefined)[] = [
    {
      key: "created",
      header: "Created",
      cell: (run) => (
        <RunDialogLink
          runId={run.id}
          href={`/admin/runs/${run.id}`}
          title={`${runTypeLabels[run.runType] ?? run.runType}${run.job ? ` of ${run.job.name}` : ""}`}
          className={adminLinkClass}
          detail={(id) => <AdminRunDetail runId={id} variant="dialog" />}
        >
          <RelativeTimeText date={run.createdAt} />
        </RunDialogLink>
      ),
    },
    show.tenant && {
      key: "tenant",
      header: "Tenant",
      cell: (run) => <AdminLink href={`/admin/tenants/${run.tenantId}`}>{run.tenant?.name ?? "tenant"}</AdminLink>,
    },
    show.job && {
      key: "job",
      header: "Job",
      cell: (run) => <AdminLink href={`/admin/jobs/${run.jobId}`}>{run.job?.name ?? "job"}</AdminLink>,
    },
    show.agent && {
      key: "agent",
      header: "Agent",
      cell: (run) =>
        run.agentId ? <AdminLink href={`/admin/agents/${run.agentId}`}>{run.agent?.name ?? "agent"}</AdminLink> : "—",
    },
    {
      key: "type",
      header: "Type",
      className: "whitespace-nowrap",
      cell: (run) => runTypeLabels[run.runType] ?? run.runType,
    },
    {
      key: "status",
      header: "Status",
      cell: (run) => <StatusBadge status={run.status} reason={run.errorCode} variant="dot" />,
    },
    { key: "engine", header: "Engine", cell: (run) => run.engine },
    {
      key: "destination",
      header: "Destination",
      className: "max-w-64 truncate font-mono text-xs",
      cellProps: (run) => ({ title: destinationText(run) }),
      cell: (run) => destinationText(run),
    },
    { key: "duration", header: "Duration", className: "whitespace-nowrap", cell: duration },
    {
      key: "logRef",
      header: "log_ref",
      className: "max-w-48 truncate font-mono text-xs",
      cellProps: (run) => ({ title: run.logRef ?? undefined }),
      cell: (run) => run.logRef ?? "—",
    },
  ];
  return (
    <DataTable
      label={label}
      columns={columns}
      rows={runs}
      rowKey={(run) => run.id}
      rowProps={(run) => ({ "data-run-id": run.id })}
      empty="No runs match."
    />
  );
}

/** Relative time as plain text inside a link (the RelativeTime tooltip button cannot nest in a link). */
function RelativeTimeText({ date }: { date: Date }) {
  return (
    <time dateTime={date.toISOString()} title={date.toString()}>
      {date.toISOString().slice(0, 16).replace("T", " ")} UTC
    </time>
  );
}
