"use client";

import { useQuery } from "@tanstack/react-query";
import { Monitor } from "lucide-react";
import { useState } from "react";
import {
  AdminLink,
  agentColumns,
  agentNameColumn,
  Filter,
  FilterSelect,
  TenantSelect,
} from "../../../components/admin/bits.tsx";
import { EmptyState } from "../../../components/ui/empty-state.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { DataTable } from "../../../components/ui/table.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";

const connectivityOptions = [
  { value: "online", label: "Online" },
  { value: "stale", label: "Stale" },
  { value: "offline", label: "Offline" },
  { value: "never", label: "Never connected" },
  { value: "revoked", label: "Revoked" },
];

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
        <FilterSelect
          label="Status"
          id="agents-status"
          value={connectivity}
          onChange={setConnectivity}
          options={connectivityOptions}
        />
      </div>
      <ErrorState error={agents.error} onRetry={agents.refetch} what="The agent list" />
      <DataTable
        label="Agents"
        rows={rows}
        rowKey={(agent) => agent.id}
        skeletonRows={4}
        emptyView={
          <EmptyState icon={Monitor} title="No agents match">
            Agents appear here once a client enrolls a machine.
          </EmptyState>
        }
        columns={[
          agentNameColumn,
          {
            key: "tenant",
            header: "Tenant",
            cell: (agent) => <AdminLink href={`/admin/tenants/${agent.tenantId}`}>{agent.tenantName}</AdminLink>,
          },
          ...agentColumns,
          { key: "hostname", header: "Host name", className: "font-mono text-xs", cell: (agent) => agent.hostname },
        ]}
      />
    </>
  );
}
