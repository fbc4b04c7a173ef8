"use client";

import { useQuery } from "@tanstack/react-query";
import { CheckCircle2 } from "lucide-react";
import { AdminLink, Verdict } from "../../components/admin/bits.tsx";
import { Badge } from "../../components/ui/badge.tsx";
import { Card, CardBody, CardHeader } from "../../components/ui/card.tsx";
import { EmptyState } from "../../components/ui/empty-state.tsx";
import { ErrorState } from "../../components/ui/error-state.tsx";
import { PageHeader } from "../../components/ui/page-header.tsx";
import { RelativeTime } from "../../components/ui/relative-time.tsx";
import { SkeletonRows } from "../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../components/ui/status-badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../../components/ui/table.tsx";
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

      <Card aria-labelledby="problems-heading">
        <CardHeader id="problems-heading" title="Needs attention" description="Failing or overdue jobs, any tenant." />
        <CardBody>
          {fleet.data && problems.length === 0 ? (
            <EmptyState icon={CheckCircle2} title="Nothing needs attention">
              No job is failing or overdue.
            </EmptyState>
          ) : (
            <Table label="Jobs that need attention">
              <THead>
                <tr>
                  <Th>Job</Th>
                  <Th>Tenant</Th>
                  <Th>Problem</Th>
                  <Th>Next run</Th>
                </tr>
              </THead>
              <TBody>
                {!fleet.data && <SkeletonRows rows={3} columns={4} />}
                {problems.map((job) => (
                  <Tr key={job.jobId}>
                    <Td>
                      <AdminLink href={`/admin/jobs/${job.jobId}`}>{job.name}</AdminLink>
                    </Td>
                    <Td>
                      <AdminLink href={`/admin/tenants/${job.tenantId}`}>
                        {tenantName.get(job.tenantId) ?? "tenant"}
                      </AdminLink>
                    </Td>
                    <Td>
                      <StatusBadge status={job.overdue ? "overdue" : "failed"} variant="dot" />
                    </Td>
                    <Td>
                      <RelativeTime date={job.nextRunAt} fallback="not scheduled" />
                    </Td>
                  </Tr>
                ))}
              </TBody>
            </Table>
          )}
        </CardBody>
      </Card>

      <Card aria-labelledby="tenants-heading">
        <CardHeader
          id="tenants-heading"
          title="Tenants"
          actions={<AdminLink href="/admin/tenants">Manage</AdminLink>}
        />
        <CardBody>
          <Table label="Tenants and their verdicts">
            <THead>
              <tr>
                <Th>Tenant</Th>
                <Th>Jobs</Th>
                <Th>Protected</Th>
                <Th>Failing</Th>
                <Th>Overdue</Th>
                <Th>Agents</Th>
                <Th>Users</Th>
              </tr>
            </THead>
            <TBody>
              {!tenants.data && <SkeletonRows rows={3} columns={7} />}
              {tenants.data?.map((tenant) => {
                const counts = perTenant.get(tenant.id);
                return (
                  <Tr key={tenant.id}>
                    <Td>
                      <span className="flex items-center gap-2">
                        <AdminLink href={`/admin/tenants/${tenant.id}`}>{tenant.name}</AdminLink>
                        {tenant.disabledAt && <Badge tone="grey">Disabled</Badge>}
                      </span>
                    </Td>
                    <Td>{counts?.jobs ?? 0}</Td>
                    <Td>{counts?.protected ?? 0}</Td>
                    <Td className={counts?.failing ? "font-semibold text-red-700 dark:text-red-400" : undefined}>
                      {counts?.failing ?? 0}
                    </Td>
                    <Td className={counts?.overdue ? "font-semibold text-amber-700 dark:text-amber-400" : undefined}>
                      {counts?.overdue ?? 0}
                    </Td>
                    <Td>{tenant._count.agents}</Td>
                    <Td>{tenant._count.users}</Td>
                  </Tr>
                );
              })}
            </TBody>
          </Table>
        </CardBody>
      </Card>
    </>
  );
}
