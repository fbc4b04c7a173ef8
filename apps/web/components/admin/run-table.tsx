"use client";

import { formatDuration } from "../../lib/format.ts";
import { SkeletonRows } from "../ui/skeleton.tsx";
import { StatusBadge } from "../ui/status-badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../ui/table.tsx";
import { AdminLink, destinationText } from "./bits.tsx";

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

export const runTypeLabels: Record<string, string> = {
  backup: "Backup",
  restore: "Restore",
  maintenance_quick: "Maintenance (quick)",
  maintenance_full: "Maintenance (full)",
};

function duration(run: AdminRunRow): string {
  if (!run.startedAt) return "—";
  const end = run.finishedAt ?? new Date();
  return formatDuration((end.getTime() - run.startedAt.getTime()) / 1000);
}

/**
 * The admin runs table with the seed's engine / destination / log_ref columns. `show` picks the context columns
 * (a job's page leaves out the job and tenant).
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
  const columns = 7 + (show.tenant ? 1 : 0) + (show.job ? 1 : 0) + (show.agent ? 1 : 0);
  return (
    <Table label={label}>
      <THead>
        <tr>
          <Th>Created</Th>
          {show.tenant && <Th>Tenant</Th>}
          {show.job && <Th>Job</Th>}
          {show.agent && <Th>Agent</Th>}
          <Th>Type</Th>
          <Th>Status</Th>
          <Th>Engine</Th>
          <Th>Destination</Th>
          <Th>Duration</Th>
          <Th>log_ref</Th>
        </tr>
      </THead>
      <TBody>
        {!runs && <SkeletonRows rows={5} columns={columns} />}
        {runs?.length === 0 && (
          <tr>
            <Td colSpan={columns} className="text-slate-600 dark:text-slate-400">
              No runs match.
            </Td>
          </tr>
        )}
        {runs?.map((run) => (
          <Tr key={run.id} data-run-id={run.id}>
            <Td>
              <AdminLink href={`/admin/runs/${run.id}`}>
                <RelativeTimeText date={run.createdAt} />
              </AdminLink>
            </Td>
            {show.tenant && (
              <Td>
                <AdminLink href={`/admin/tenants/${run.tenantId}`}>{run.tenant?.name ?? "tenant"}</AdminLink>
              </Td>
            )}
            {show.job && (
              <Td>
                <AdminLink href={`/admin/jobs/${run.jobId}`}>{run.job?.name ?? "job"}</AdminLink>
              </Td>
            )}
            {show.agent && (
              <Td>
                {run.agentId ? (
                  <AdminLink href={`/admin/agents/${run.agentId}`}>{run.agent?.name ?? "agent"}</AdminLink>
                ) : (
                  "—"
                )}
              </Td>
            )}
            <Td className="whitespace-nowrap">{runTypeLabels[run.runType] ?? run.runType}</Td>
            <Td>
              <StatusBadge status={run.status} reason={run.errorCode} variant="dot" />
            </Td>
            <Td>{run.engine}</Td>
            <Td className="max-w-64 truncate font-mono text-xs" title={destinationText(run)}>
              {destinationText(run)}
            </Td>
            <Td className="whitespace-nowrap">{duration(run)}</Td>
            <Td className="max-w-48 truncate font-mono text-xs" title={run.logRef ?? undefined}>
              {run.logRef ?? "—"}
            </Td>
          </Tr>
        ))}
      </TBody>
    </Table>
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
