"use client";

import { useQuery } from "@tanstack/react-query";
import { useParams } from "next/navigation";
import { AdminLink, HealthStrip, Verdict } from "../../../../components/admin/bits.tsx";
import { Badge } from "../../../../components/ui/badge.tsx";
import { Card, CardBody, CardHeader } from "../../../../components/ui/card.tsx";
import { ErrorState } from "../../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../../components/ui/relative-time.tsx";
import { SkeletonRows } from "../../../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../../../components/ui/status-badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../../../../components/ui/table.tsx";
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

      <Card aria-labelledby="tenant-agents">
        <CardHeader id="tenant-agents" title="Agents" />
        <CardBody>
          <Table label="The tenant's agents">
            <THead>
              <tr>
                <Th>Agent</Th>
                <Th>Status</Th>
                <Th>Last seen</Th>
                <Th>Version</Th>
                <Th>OS</Th>
              </tr>
            </THead>
            <TBody>
              {!data && <SkeletonRows rows={2} columns={5} />}
              {data?.agents.length === 0 && (
                <tr>
                  <Td colSpan={5} className="text-slate-600 dark:text-slate-400">
                    No agents enrolled yet.
                  </Td>
                </tr>
              )}
              {data?.agents.map((agent) => (
                <Tr key={agent.id}>
                  <Td>
                    <AdminLink href={`/admin/agents/${agent.id}`}>{agent.name}</AdminLink>
                  </Td>
                  <Td>
                    <StatusBadge status={agent.connectivity} variant="dot" />
                  </Td>
                  <Td>
                    <RelativeTime date={agent.lastSeenAt} />
                  </Td>
                  <Td>{agent.version ?? "—"}</Td>
                  <Td>{[agent.os, agent.arch].filter(Boolean).join(" / ") || "—"}</Td>
                </Tr>
              ))}
            </TBody>
          </Table>
        </CardBody>
      </Card>

      <Card aria-labelledby="tenant-jobs">
        <CardHeader id="tenant-jobs" title="Jobs" />
        <CardBody>
          <Table label="The tenant's jobs">
            <THead>
              <tr>
                <Th>Job</Th>
                <Th>Last result</Th>
                <Th>Next run</Th>
                <Th>Last 30 days</Th>
              </tr>
            </THead>
            <TBody>
              {!data && <SkeletonRows rows={2} columns={4} />}
              {data?.summary.jobs.length === 0 && (
                <tr>
                  <Td colSpan={4} className="text-slate-600 dark:text-slate-400">
                    No jobs yet.
                  </Td>
                </tr>
              )}
              {data?.summary.jobs.map((job) => (
                <Tr key={job.jobId}>
                  <Td>
                    <AdminLink href={`/admin/jobs/${job.jobId}`}>{job.name}</AdminLink>
                  </Td>
                  <Td>
                    <StatusBadge status={job.overdue ? "overdue" : (job.lastResult ?? "none")} variant="dot" />
                  </Td>
                  <Td>
                    <RelativeTime date={job.nextRunAt} fallback="not scheduled" />
                  </Td>
                  <Td>
                    <HealthStrip name={job.name} days={job.days} />
                  </Td>
                </Tr>
              ))}
            </TBody>
          </Table>
        </CardBody>
      </Card>

      <Card aria-labelledby="tenant-users">
        <CardHeader id="tenant-users" title="Users" />
        <CardBody>
          <Table label="The tenant's users">
            <THead>
              <tr>
                <Th>Email</Th>
                <Th>Name</Th>
                <Th>Two-factor</Th>
                <Th>Status</Th>
              </tr>
            </THead>
            <TBody>
              {!data && <SkeletonRows rows={2} columns={4} />}
              {data?.users.map((user) => (
                <Tr key={user.id}>
                  <Td>{user.email}</Td>
                  <Td>{user.name}</Td>
                  <Td>{user.twoFactorEnabled ? <Badge tone="green">On</Badge> : <Badge tone="grey">Off</Badge>}</Td>
                  <Td>{user.banned ? <Badge tone="grey">Disabled</Badge> : <Badge tone="green">Active</Badge>}</Td>
                </Tr>
              ))}
            </TBody>
          </Table>
        </CardBody>
      </Card>
    </>
  );
}
