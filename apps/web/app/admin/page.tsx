"use client";

import { useQuery } from "@tanstack/react-query";
import { CheckCircle2 } from "lucide-react";
import { AdminLink, jobColumn, nextRunColumn, Verdict } from "../../components/admin/bits.tsx";
import { Badge } from "../../components/ui/badge.tsx";
import { SectionCard } from "../../components/ui/card.tsx";
import { EmptyState } from "../../components/ui/empty-state.tsx";
import { ErrorState } from "../../components/ui/error-state.tsx";
import { PageHeader } from "../../components/ui/page-header.tsx";
import { StatusBadge } from "../../components/ui/status-badge.tsx";
import { DataTable } from "../../components/ui/table.tsx";
import { useTRPC } from "../../lib/trpc-client.tsx";

/** The fleet: every tenant's verdict at once, the problems first, each drillable to tenant → agent → job. */
export default function FleetPage() {
  const trpc = useTRPC();
  const fleet = useQuery({ ...trpc.admin.fleet.queryOptions(), refetchInterval: 30_000 });
  const tenants = useQuery(trpc.admin.tenants.queryOptions());
  const tenantName = new Map(tenants.data?.map((tenant) => [tenant.id, tenant.name]));
  const problems = fleet.data?.jobs.filter((job) => job.overdue || job.lastResult === "failed") ?? [];
  const perTenant = new Map<string, { jobs: number; protected: number; failing: number; overdue: number }>();
  for (const job of fleet.data?.jobs ?? []) {
    const entry = perTenant.get(job.tenantId) ?? { jobs: 0, protected: 0, failing: 0, overdue: 0 };
    entry.jobs += 1;
    if (job.overdue) entry.overdue += 1;
    else if (job.lastResult === "failed") entry.failing += 1;
    else if (job.lastResult === "success" || job.lastResult === "warning") entry.protected += 1;
    perTenant.set(job.tenantId, entry);
  }

  return (
    <>
      <PageHeader title="Fleet" description="Every tenant's backups: what is protected and what needs attention." />
      <ErrorState error={fleet.error} onRetry={fleet.refetch} what="The fleet summary" />
      <Verdict counts={fleet.data?.counts} />

      <SectionCard id="problems-heading" title="Needs attention" description="Failing or overdue jobs, any tenant.">
        <DataTable
          label="Jobs that need attention"
          rows={fleet.data ? problems : undefined}
          rowKey={(job) => job.jobId}
          skeletonRows={3}
          emptyView={
            <EmptyState icon={CheckCircle2} title="Nothing needs attention">
              No job is failing or overdue.
            </EmptyState>
          }
          columns={[
            jobColumn("jobId"),
            {
              key: "tenant",
              header: "Tenant",
              cell: (job) => (
                <AdminLink href={`/admin/tenants/${job.tenantId}`}>
                  {tenantName.get(job.tenantId) ?? "tenant"}
                </AdminLink>
              ),
            },
            {
              key: "problem",
              header: "Problem",
              cell: (job) => <StatusBadge status={job.overdue ? "overdue" : "failed"} variant="dot" />,
            },
            nextRunColumn,
          ]}
        />
      </SectionCard>

      <SectionCard id="tenants-heading" title="Tenants" actions={<AdminLink href="/admin/tenants">Manage</AdminLink>}>
        <DataTable
          label="Tenants and their verdicts"
          rows={tenants.data}
          rowKey={(tenant) => tenant.id}
          skeletonRows={3}
          columns={[
            {
              key: "tenant",
              header: "Tenant",
              cell: (tenant) => (
                <span className="flex items-center gap-2">
                  <AdminLink href={`/admin/tenants/${tenant.id}`}>{tenant.name}</AdminLink>
                  {tenant.disabledAt && <Badge tone="grey">Disabled</Badge>}
                </span>
              ),
            },
            { key: "jobs", header: "Jobs", cell: (tenant) => perTenant.get(tenant.id)?.jobs ?? 0 },
            { key: "protected", header: "Protected", cell: (tenant) => perTenant.get(tenant.id)?.protected ?? 0 },
            {
              key: "failing",
              header: "Failing",
              className: (tenant) =>
                perTenant.get(tenant.id)?.failing ? "font-semibold text-red-700 dark:text-red-400" : undefined,
              cell: (tenant) => perTenant.get(tenant.id)?.failing ?? 0,
            },
            {
              key: "overdue",
              header: "Overdue",
              className: (tenant) =>
                perTenant.get(tenant.id)?.overdue ? "font-semibold text-amber-700 dark:text-amber-400" : undefined,
              cell: (tenant) => perTenant.get(tenant.id)?.overdue ?? 0,
            },
            { key: "agents", header: "Agents", cell: (tenant) => tenant._count.agents },
            { key: "users", header: "Users", cell: (tenant) => tenant._count.users },
          ]}
        />
      </SectionCard>
    </>
  );
}
