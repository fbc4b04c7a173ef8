"use client";

import { useQuery } from "@tanstack/react-query";
import { Monitor } from "lucide-react";
import { useState } from "react";
import { AdminLink, Filter, TenantSelect } from "../../../components/admin/bits.tsx";
import { EmptyState } from "../../../components/ui/empty-state.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { NativeSelect } from "../../../components/ui/input.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../components/ui/relative-time.tsx";
import { SkeletonRows } from "../../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../../components/ui/status-badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../../../components/ui/table.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";

/** Every tenant's agents, online state from their last poll. */
export default function AdminAgentsPage() {
  const trpc = useTRPC();
  const [tenantId, setTenantId] = useState("");
  const [connectivity, setConnectivity] = useState("");
  const agents = useQuery({
    ...trpc.admin.agents.queryOptions(tenantId ? { tenantId } : {}),
    refetchInterval: 30_000,
  });
  const rows = agents.data?.filter((agent) => !connectivity || agent.connectivity === connectivity);
  return (
    <>
      <PageHeader title="Agents" description="Machines across all tenants, with their last contact." />
      <div className="flex flex-wrap gap-3">
        <Filter label="Tenant" id="agents-tenant">
          <TenantSelect id="agents-tenant" value={tenantId} onChange={setTenantId} />
        </Filter>
        <Filter label="Status" id="agents-status">
          <NativeSelect
            id="agents-status"
            value={connectivity}
            onChange={(event) => setConnectivity(event.target.value)}
          >
            <option value="">Any</option>
            <option value="online">Online</option>
            <option value="stale">Stale</option>
            <option value="offline">Offline</option>
            <option value="revoked">Revoked</option>
          </NativeSelect>
        </Filter>
      </div>
      <ErrorState error={agents.error} onRetry={agents.refetch} what="The agent list" />
      {rows?.length === 0 ? (
        <EmptyState icon={Monitor} title="No agents match">
          Agents appear here once a client enrolls a machine.
        </EmptyState>
      ) : (
        <Table label="Agents">
          <THead>
            <tr>
              <Th>Agent</Th>
              <Th>Tenant</Th>
              <Th>Status</Th>
              <Th>Last seen</Th>
              <Th>Version</Th>
              <Th>OS</Th>
              <Th>Host name</Th>
            </tr>
          </THead>
          <TBody>
            {!rows && <SkeletonRows rows={4} columns={7} />}
            {rows?.map((agent) => (
              <Tr key={agent.id}>
                <Td>
                  <AdminLink href={`/admin/agents/${agent.id}`}>{agent.name}</AdminLink>
                </Td>
                <Td>
                  <AdminLink href={`/admin/tenants/${agent.tenantId}`}>{agent.tenantName}</AdminLink>
                </Td>
                <Td>
                  <StatusBadge status={agent.connectivity} variant="dot" />
                </Td>
                <Td>
                  <RelativeTime date={agent.lastSeenAt} />
                </Td>
                <Td>{agent.version ?? "—"}</Td>
                <Td>{[agent.os, agent.arch].filter(Boolean).join(" / ") || "—"}</Td>
                <Td className="font-mono text-xs">{agent.hostname}</Td>
              </Tr>
            ))}
          </TBody>
        </Table>
      )}
    </>
  );
}
