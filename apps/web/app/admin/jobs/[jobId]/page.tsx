"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Wrench } from "lucide-react";
import { useParams } from "next/navigation";
import { useState } from "react";
import {
  AdminLink,
  commandDeliveryColumns,
  commandStateColumn,
  destinationText,
} from "../../../../components/admin/bits.tsx";
import { MaintenanceBanner } from "../../../../components/admin/maintenance-banner.tsx";
import { AdminRunTable } from "../../../../components/admin/run-table.tsx";
import { Button } from "../../../../components/ui/button.tsx";
import { SectionCard } from "../../../../components/ui/card.tsx";
import { ConfirmDialog } from "../../../../components/ui/confirm-dialog.tsx";
import { DetailList } from "../../../../components/ui/detail-list.tsx";
import { ErrorState } from "../../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../../components/ui/relative-time.tsx";
import { Skeleton } from "../../../../components/ui/skeleton.tsx";
import { DataTable } from "../../../../components/ui/table.tsx";
import { useTRPC } from "../../../../lib/trpc-client.tsx";

const maintenanceText = {
  maintenance_quick:
    "Quick maintenance: removes stale locks, applies the job's retention and merges the index. Runs beside backups.",
  maintenance_full:
    "Full maintenance: quick maintenance plus prune (deletes data no snapshot uses, repacks partly used packs) and a check of 5 % of the data. It waits for running backups and can take long on big repositories.",
} as const;

/** One job: its settings, maintenance (quick/full, sent to the agent as commands) and the runs and commands. */
export default function AdminJobPage() {
  const { jobId } = useParams<{ jobId: string }>();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const detail = useQuery({ ...trpc.admin.job.queryOptions({ jobId }), refetchInterval: 5_000 });
  const [kind, setKind] = useState<"maintenance_quick" | "maintenance_full" | null>(null);
  const [started, setStarted] = useState<string | null>(null);
  const maintenance = useMutation(
    trpc.admin.maintenance.mutationOptions({
      onSuccess: (result) => {
        setStarted(result.runId);
        void queryClient.invalidateQueries({ queryKey: trpc.admin.job.queryKey({ jobId }) });
      },
    }),
  );
  const data = detail.data;
  const job = data?.job;
  const isBackup = job?.engine === "backup";

  return (
    <>
      <PageHeader
        title={job?.name ?? "Job"}
        description={job ? `${job.engine === "backup" ? "Backup" : "Sync"} job of ${job.tenant.name}` : " "}
        actions={
          <>
            <Button
              variant="secondary"
              disabled={!isBackup}
              title={isBackup ? undefined : "Maintenance applies to backup repositories, not sync jobs"}
              onClick={() => setKind("maintenance_quick")}
            >
              <Wrench aria-hidden /> Quick maintenance
            </Button>
            <Button
              variant="secondary"
              disabled={!isBackup}
              title={isBackup ? undefined : "Maintenance applies to backup repositories, not sync jobs"}
              onClick={() => setKind("maintenance_full")}
            >
              <Wrench aria-hidden /> Full maintenance
            </Button>
          </>
        }
      />
      <ErrorState error={detail.error} onRetry={detail.refetch} what="This job" />
      {started && (
        <MaintenanceBanner
          runId={started}
          status={data?.runs.find((run) => run.id === started)?.status}
          onDismiss={() => setStarted(null)}
        />
      )}
      <SectionCard id="job-facts" title="Settings">
        {job ? (
          <DetailList
            rows={{
              Tenant: <AdminLink href={`/admin/tenants/${job.tenant.id}`}>{job.tenant.name}</AdminLink>,
              Agent: <AdminLink href={`/admin/agents/${job.agent.id}`}>{job.agent.name}</AdminLink>,
              Engine: job.engine,
              Destination: <span className="font-mono">{destinationText(job)}</span>,
              Sources: <span className="font-mono">{job.sourcePaths.join(", ")}</span>,
              Schedule: <code className="text-xs">{JSON.stringify(job.scheduleJson)}</code>,
              Retention: <code className="text-xs">{JSON.stringify(job.retentionJson ?? {})}</code>,
              Encryption: job.encryptionMode,
              Compression: job.compression,
              "Next run": <RelativeTime date={job.nextRunAt} fallback="not scheduled" />,
              "Policy hash": <code className="text-xs">{job.lastPolicyHash ?? "—"}</code>,
            }}
          />
        ) : (
          <Skeleton lines={6} />
        )}
      </SectionCard>
      <SectionCard id="job-runs" title="Runs" description="Backups, restores and maintenance, newest first.">
        <AdminRunTable runs={data?.runs} label="The job's runs" show={{}} />
      </SectionCard>
      <SectionCard id="job-commands" title="Commands" description="What was sent to the agent for this job.">
        <DataTable
          label="The job's commands"
          rows={data?.commands}
          rowKey={(command) => command.id}
          rowProps={(command) => ({ "data-command-type": command.type })}
          skeletonRows={2}
          empty="No commands yet."
          columns={[
            { key: "created", header: "Created", cell: (command) => <RelativeTime date={command.createdAt} /> },
            { key: "type", header: "Command", className: "font-mono text-xs", cell: (command) => command.type },
            commandStateColumn,
            ...commandDeliveryColumns,
            {
              key: "run",
              header: "Run",
              cell: (command) =>
                command.runId ? <AdminLink href={`/admin/runs/${command.runId}`}>Open</AdminLink> : "—",
            },
            {
              key: "error",
              header: "Error",
              className: "max-w-64 truncate",
              cell: (command) => command.errorMessage ?? "",
            },
          ]}
        />
      </SectionCard>
      <ConfirmDialog
        open={kind !== null}
        onOpenChange={(open) => !open && setKind(null)}
        title={kind === "maintenance_full" ? "Start full maintenance?" : "Start quick maintenance?"}
        description={kind ? maintenanceText[kind] : undefined}
        confirmLabel={kind === "maintenance_full" ? "Start full maintenance" : "Start quick maintenance"}
        destructive={false}
        onConfirm={async () => {
          if (kind) await maintenance.mutateAsync({ jobId, kind });
        }}
      />
    </>
  );
}
