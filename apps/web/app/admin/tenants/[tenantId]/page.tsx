"use client";

import { useQuery } from "@tanstack/react-query";
import { useParams } from "next/navigation";
import {
  ActiveBadge,
  AdminLink,
  agentColumns,
  agentNameColumn,
  HealthStrip,
  jobColumn,
  nextRunColumn,
  OnOffBadge,
  Verdict,
} from "../../../../components/admin/bits.tsx";
import { Badge } from "../../../../components/ui/badge.tsx";
import { SectionCard } from "../../../../components/ui/card.tsx";
import { ErrorState } from "../../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../../components/ui/page-header.tsx";
import { StatusBadge } from "../../../../components/ui/status-badge.tsx";
import { DataTable } from "../../../../components/ui/table.tsx";
import { useTRPC } from "../../../../lib/trpc-client.tsx";

/** One tenant drilled into: its verdict, agents, jobs (with their 30-day strips) and users. */
export default function TenantPage() {
  const { tenantId } = useParams<{ tenantId: string }>();
  const trpc = useTRPC();
  const detail = useQuery(trpc.admin.tenant.queryOptions({ tenantId }));
  const data = detail.data;
  return (
    <>
      <PageHeader
        title={data ? data.tenant.name : "Tenant"}
        description={
          data ? (
            <span className="inline-flex items-center gap-2">
              <span className="font-mono">{data.tenant.slug}</span>
              {data.tenant.disabledAt && <Badge tone="grey">Disabled</Badge>}
            </span>
          ) : (
            " "
          )
        }
        actions={<AdminLink href={`/admin/users?tenantId=${tenantId}`}>Manage users</AdminLink>}
      />
      <ErrorState error={detail.error} onRetry={detail.refetch} what="This tenant" />
      <Verdict counts={data?.summary.counts} />

      <SectionCard id="tenant-agents" title="Agents">
        <DataTable
          label="The tenant's agents"
          rows={data?.agents}
          rowKey={(agent) => agent.id}
          skeletonRows={2}
          empty="No agents enrolled yet."
          columns={[agentNameColumn, ...agentColumns]}
        />
      </SectionCard>

      <SectionCard id="tenant-jobs" title="Jobs">
        <DataTable
          label="The tenant's jobs"
          rows={data?.summary.jobs}
          rowKey={(job) => job.jobId}
          skeletonRows={2}
          empty="No jobs yet."
          columns={[
            jobColumn("jobId"),
            {
              key: "result",
              header: "Last result",
              cell: (job) => (
                <StatusBadge status={job.overdue ? "overdue" : (job.lastResult ?? "none")} variant="dot" />
              ),
            },
            nextRunColumn,
            { key: "days", header: "Last 30 days", cell: (job) => <HealthStrip name={job.name} days={job.days} /> },
          ]}
        />
      </SectionCard>

      <SectionCard id="tenant-users" title="Users">
        <DataTable
          label="The tenant's users"
          rows={data?.users}
          rowKey={(user) => user.id}
          skeletonRows={2}
          columns={[
            { key: "email", header: "Email", cell: (user) => user.email },
            { key: "name", header: "Name", cell: (user) => user.name },
            { key: "twoFactor", header: "Two-factor", cell: (user) => <OnOffBadge on={user.twoFactorEnabled} /> },
            { key: "status", header: "Status", cell: (user) => <ActiveBadge disabled={user.banned} /> },
          ]}
        />
      </SectionCard>
    </>
  );
}
