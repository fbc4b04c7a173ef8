"use client";

import { useQuery } from "@tanstack/react-query";
import { ExternalLink } from "lucide-react";
import Link from "next/link";
import { useTRPC } from "../../lib/trpc-client.tsx";
import { Button } from "../ui/button.tsx";
import { SectionCard } from "../ui/card.tsx";
import { DetailList } from "../ui/detail-list.tsx";
import { ErrorState } from "../ui/error-state.tsx";
import { PageHeader } from "../ui/page-header.tsx";
import { RelativeTime } from "../ui/relative-time.tsx";
import { Skeleton } from "../ui/skeleton.tsx";
import { StatusBadge } from "../ui/status-badge.tsx";
import { DataTable } from "../ui/table.tsx";
import { AdminLink, commandDeliveryColumns, commandStateColumn, destinationText, runTypeLabels } from "./bits.tsx";

const finished = new Set(["success", "warning", "failed", "cancelled"]);

/**
 * One run of any tenant: what it was, the commands behind it, its events and the newest log lines. The admin run
 * page shows it as a page; the admin run tables open it in a modal (`variant="dialog"`: no page header, a link to the
 * full page instead).
 */
export function AdminRunDetail({ runId, variant = "page" }: { runId: string; variant?: "page" | "dialog" }) {
  const id = (name: string) => (variant === "page" ? `run-${name}` : `run-dialog-${name}`);
  const trpc = useTRPC();
  const detail = useQuery({
    ...trpc.admin.run.queryOptions({ runId }),
    refetchInterval: (query) => (query.state.data && finished.has(query.state.data.run.status) ? false : 3_000),
  });
  const data = detail.data;
  const run = data?.run;
  return (
    <div className="space-y-6">
      {variant === "page" ? (
        <PageHeader
          title={run ? `${runTypeLabels[run.runType] ?? run.runType} of ${run.job.name}` : "Run"}
          description={run ? <StatusBadge status={run.status} reason={run.errorCode} /> : " "}
        />
      ) : (
        <div className="flex flex-wrap items-center justify-between gap-3">
          <div className="min-h-6">{run && <StatusBadge status={run.status} reason={run.errorCode} />}</div>
          <Button asChild variant="ghost" size="sm">
            <Link href={`/admin/runs/${runId}`}>
              <ExternalLink aria-hidden /> Open the run page
            </Link>
          </Button>
        </div>
      )}
      <ErrorState error={detail.error} onRetry={detail.refetch} what="This run" />
      <SectionCard id={id("facts")} title="Summary">
        {run ? (
          <DetailList
            rows={{
              Tenant: <AdminLink href={`/admin/tenants/${run.tenant.id}`}>{run.tenant.name}</AdminLink>,
              Job: <AdminLink href={`/admin/jobs/${run.job.id}`}>{run.job.name}</AdminLink>,
              Agent: run.agent ? <AdminLink href={`/admin/agents/${run.agent.id}`}>{run.agent.name}</AdminLink> : "—",
              Trigger: run.trigger,
              Engine: run.engine,
              Destination: <span className="font-mono">{destinationText(run)}</span>,
              Created: <RelativeTime date={run.createdAt} />,
              Started: <RelativeTime date={run.startedAt} fallback="not yet" />,
              Finished: <RelativeTime date={run.finishedAt} fallback="not yet" />,
              log_ref: <code className="text-xs">{run.logRef ?? "—"}</code>,
              Error: run.errorMessage ?? "—",
            }}
          />
        ) : (
          <Skeleton lines={6} />
        )}
      </SectionCard>
      <SectionCard id={id("commands")} title="Commands">
        <DataTable
          label="Commands of this run"
          rows={data?.commands}
          rowKey={(command) => command.id}
          skeletonRows={1}
          empty="No commands (scheduled or manual backups need none)."
          columns={[
            {
              key: "type",
              header: "Command",
              className: "font-mono text-xs",
              cellProps: () => ({ "data-testid": "run-command-type" }),
              cell: (command) => command.type,
            },
            commandStateColumn,
            { key: "created", header: "Created", cell: (command) => <RelativeTime date={command.createdAt} /> },
            ...commandDeliveryColumns,
          ]}
        />
      </SectionCard>
      <SectionCard id={id("events")} title="Events">
        {data?.events.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">No events yet.</p>
        ) : (
          <ol className="space-y-1 text-sm">
            {data?.events.map((event) => (
              <li key={event.id} className="flex flex-wrap gap-x-3">
                <time
                  className="font-mono text-xs text-slate-600 dark:text-slate-400"
                  dateTime={event.ts.toISOString()}
                >
                  {event.ts.toISOString().slice(11, 19)}
                </time>
                <code className="text-xs">{event.type}</code>
                <span>{event.message}</span>
              </li>
            ))}
          </ol>
        )}
      </SectionCard>
      <SectionCard id={id("logs")} title="Log" description="The newest 200 lines.">
        {data?.logs.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">No log lines yet.</p>
        ) : (
          <pre className="max-h-96 overflow-auto rounded bg-slate-100 p-3 text-xs dark:bg-slate-950">
            {data?.logs.map((line) => `${line.ts.toISOString()} ${line.level.padEnd(5)} ${line.message}`).join("\n")}
          </pre>
        )}
      </SectionCard>
    </div>
  );
}
