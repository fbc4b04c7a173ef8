"use client";

import { useQuery } from "@tanstack/react-query";
import { useParams } from "next/navigation";
import { AdminLink, destinationText, jobColumn, nextRunColumn } from "../../../../components/admin/bits.tsx";
import { AdminRunTable } from "../../../../components/admin/run-table.tsx";
import { SectionCard } from "../../../../components/ui/card.tsx";
import { DetailList } from "../../../../components/ui/detail-list.tsx";
import { ErrorState } from "../../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../../components/ui/relative-time.tsx";
import { Skeleton } from "../../../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../../../components/ui/status-badge.tsx";
import { DataTable } from "../../../../components/ui/table.tsx";
import { useTRPC } from "../../../../lib/trpc-client.tsx";

export default function AdminAgentPage() {
  const { agentId } = useParams<{ agentId: string }>();
  const trpc = useTRPC();
  const detail = useQuery({ ...trpc.admin.agent.queryOptions({ agentId }), refetchInterval: 30_000 });
  const data = detail.data;
  return (
    <>
      <PageHeader
        title={data?.agent.name ?? "Agent"}
        description={data ? <StatusBadge status={data.agent.connectivity} /> : " "}
      />
      <ErrorState error={detail.error} onRetry={detail.refetch} what="This agent" />
      <SectionCard id="agent-facts" title="Details">
        {data ? (
          <DetailList
            rows={{
              Tenant: <AdminLink href={`/admin/tenants/${data.agent.tenant.id}`}>{data.agent.tenant.name}</AdminLink>,
              "Host name": <span className="font-mono">{data.agent.hostname}</span>,
              "Last seen": <RelativeTime date={data.agent.lastSeenAt} />,
              Version: data.agent.version ?? "—",
              OS: [data.agent.os, data.agent.arch].filter(Boolean).join(" / ") || "—",
              Enrolled: <RelativeTime date={data.agent.createdAt} />,
            }}
          />
        ) : (
          <Skeleton lines={5} />
        )}
      </SectionCard>
      <SectionCard id="agent-jobs" title="Jobs">
        <DataTable
          label="The agent's jobs"
          rows={data?.jobs}
          rowKey={(job) => job.id}
          skeletonRows={2}
          columns={[
            jobColumn("id"),
            { key: "engine", header: "Engine", cell: (job) => job.engine },
            {
              key: "destination",
              header: "Destination",
              className: "font-mono text-xs",
              cell: (job) => destinationText(job),
            },
            nextRunColumn,
          ]}
        />
      </SectionCard>
      <SectionCard id="agent-runs" title="Recent runs">
        <AdminRunTable runs={data?.runs} label="The agent's recent runs" show={{ job: true }} />
      </SectionCard>
    </>
  );
}
