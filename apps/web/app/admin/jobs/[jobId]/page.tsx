"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Wrench } from "lucide-react";
import { useParams } from "next/navigation";
import { useState } from "react";
import { AdminLink, destinationText, Facts } from "../../../../components/admin/bits.tsx";
import { MaintenanceBanner } from "../../../../components/admin/maintenance-banner.tsx";
import { AdminRunTable } from "../../../../components/admin/run-table.tsx";
import { Button } from "../../../../components/ui/button.tsx";
import { Card, CardBody, CardHeader } from "../../../../components/ui/card.tsx";
import { ConfirmDialog } from "../../../../components/ui/confirm-dialog.tsx";
import { ErrorState } from "../../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../../components/ui/relative-time.tsx";
import { Skeleton, SkeletonRows } from "../../../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../../../components/ui/status-badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../../../../components/ui/table.tsx";
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
      <Card aria-labelledby="job-facts">
        <CardHeader id="job-facts" title="Settings" />
        <CardBody>
          {job ? (
            <Facts
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
        </CardBody>
      </Card>
      <Card aria-labelledby="job-runs">
        <CardHeader id="job-runs" title="Runs" description="Backups, restores and maintenance, newest first." />
        <CardBody>
          <AdminRunTable runs={data?.runs} label="The job's runs" show={{}} />
        </CardBody>
      </Card>
      <Card aria-labelledby="job-commands">
        <CardHeader id="job-commands" title="Commands" description="What was sent to the agent for this job." />
        <CardBody>
          <Table label="The job's commands">
            <THead>
              <tr>
                <Th>Created</Th>
                <Th>Command</Th>
                <Th>State</Th>
                <Th>Delivered</Th>
                <Th>Completed</Th>
                <Th>Run</Th>
                <Th>Error</Th>
              </tr>
            </THead>
            <TBody>
              {!data && <SkeletonRows rows={2} columns={7} />}
              {data?.commands.length === 0 && (
                <tr>
                  <Td colSpan={7} className="text-slate-600 dark:text-slate-400">
                    No commands yet.
                  </Td>
                </tr>
              )}
              {data?.commands.map((command) => (
                <Tr key={command.id} data-command-type={command.type}>
                  <Td>
                    <RelativeTime date={command.createdAt} />
                  </Td>
                  <Td className="font-mono text-xs">{command.type}</Td>
                  <Td>
                    <StatusBadge status={command.status} variant="dot" />
                  </Td>
                  <Td>
                    <RelativeTime date={command.deliveredAt} fallback="—" />
                  </Td>
                  <Td>
                    <RelativeTime date={command.completedAt} fallback="—" />
                  </Td>
                  <Td>{command.runId ? <AdminLink href={`/admin/runs/${command.runId}`}>Open</AdminLink> : "—"}</Td>
                  <Td className="max-w-64 truncate">{command.errorMessage ?? ""}</Td>
                </Tr>
              ))}
            </TBody>
          </Table>
        </CardBody>
      </Card>
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
