"use client";

import { useQuery } from "@tanstack/react-query";
import { useParams } from "next/navigation";
import { AdminLink, destinationText, Facts } from "../../../../components/admin/bits.tsx";
import { AdminRunTable } from "../../../../components/admin/run-table.tsx";
import { Card, CardBody, CardHeader } from "../../../../components/ui/card.tsx";
import { ErrorState } from "../../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../../components/ui/relative-time.tsx";
import { Skeleton, SkeletonRows } from "../../../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../../../components/ui/status-badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../../../../components/ui/table.tsx";
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
      <Card aria-labelledby="agent-facts">
        <CardHeader id="agent-facts" title="Details" />
        <CardBody>
          {data ? (
            <Facts
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
        </CardBody>
      </Card>
      <Card aria-labelledby="agent-jobs">
        <CardHeader id="agent-jobs" title="Jobs" />
        <CardBody>
          <Table label="The agent's jobs">
            <THead>
              <tr>
                <Th>Job</Th>
                <Th>Engine</Th>
                <Th>Destination</Th>
                <Th>Next run</Th>
              </tr>
            </THead>
            <TBody>
              {!data && <SkeletonRows rows={2} columns={4} />}
              {data?.jobs.map((job) => (
                <Tr key={job.id}>
                  <Td>
                    <AdminLink href={`/admin/jobs/${job.id}`}>{job.name}</AdminLink>
                  </Td>
                  <Td>{job.engine}</Td>
                  <Td className="font-mono text-xs">{destinationText(job)}</Td>
                  <Td>
                    <RelativeTime date={job.nextRunAt} fallback="not scheduled" />
                  </Td>
                </Tr>
              ))}
            </TBody>
          </Table>
        </CardBody>
      </Card>
      <Card aria-labelledby="agent-runs">
        <CardHeader id="agent-runs" title="Recent runs" />
        <CardBody>
          <AdminRunTable runs={data?.runs} label="The agent's recent runs" show={{ job: true }} />
        </CardBody>
      </Card>
    </>
  );
}
