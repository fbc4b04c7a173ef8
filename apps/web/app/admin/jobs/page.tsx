"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import {
  AdminLink,
  destinationText,
  engineOptions,
  Filter,
  FilterSelect,
  jobColumn,
  nextRunColumn,
  TenantSelect,
} from "../../../components/admin/bits.tsx";
import { Badge } from "../../../components/ui/badge.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { Input } from "../../../components/ui/input.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { Pager, useCursorPages } from "../../../components/ui/pager.tsx";
import { DataTable } from "../../../components/ui/table.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";

/** Every tenant's jobs, with the seed's engine and destination columns. */
export default function AdminJobsPage() {
  const trpc = useTRPC();
  const [tenantId, setTenantId] = useState("");
  const [engine, setEngine] = useState<"" | "backup" | "sync">("");
  const [search, setSearch] = useState("");
  const filters = { ...(tenantId ? { tenantId } : {}), ...(engine ? { engine } : {}), ...(search ? { search } : {}) };
  const pages = useCursorPages(JSON.stringify(filters));
  const jobs = useQuery(trpc.admin.jobs.queryOptions({ ...filters, limit: 50, cursor: pages.cursor }));
  return (
    <>
      <PageHeader title="Jobs" description="Backup and sync jobs of every tenant." />
      <div className="flex flex-wrap items-end gap-3">
        <Filter label="Tenant" id="jobs-tenant">
          <TenantSelect id="jobs-tenant" value={tenantId} onChange={setTenantId} />
        </Filter>
        <FilterSelect label="Engine" id="jobs-engine" value={engine} onChange={setEngine} options={engineOptions} />
        <Filter label="Name contains" id="jobs-search">
          <Input id="jobs-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
        </Filter>
      </div>
      <ErrorState error={jobs.error} onRetry={jobs.refetch} what="The job list" />
      <DataTable
        label="Jobs"
        rows={jobs.data?.jobs}
        rowKey={(job) => job.id}
        empty="No jobs match."
        columns={[
          jobColumn("id"),
          {
            key: "tenant",
            header: "Tenant",
            cell: (job) => <AdminLink href={`/admin/tenants/${job.tenantId}`}>{job.tenantName}</AdminLink>,
          },
          {
            key: "agent",
            header: "Agent",
            cell: (job) => <AdminLink href={`/admin/agents/${job.agentId}`}>{job.agentName}</AdminLink>,
          },
          { key: "engine", header: "Engine", cell: (job) => job.engine },
          {
            key: "destination",
            header: "Destination",
            className: "max-w-64 truncate font-mono text-xs",
            cellProps: (job) => ({ title: destinationText(job) }),
            cell: (job) => destinationText(job),
          },
          nextRunColumn,
          {
            key: "state",
            header: "State",
            cell: (job) => (job.enabled ? <Badge tone="green">Enabled</Badge> : <Badge tone="grey">Paused</Badge>),
          },
        ]}
      />
      <Pager pages={pages} nextCursor={jobs.data?.nextCursor} label="Job pages" />
    </>
  );
}
