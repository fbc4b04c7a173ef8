"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { engineOptions, Filter, FilterSelect, runTypeLabels, TenantSelect } from "../../../components/admin/bits.tsx";
import { AdminRunTable } from "../../../components/admin/run-table.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { Pager, useCursorPages } from "../../../components/ui/pager.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";

const statuses = ["queued", "starting", "running", "success", "warning", "failed", "cancelled"] as const;
const runTypes = ["backup", "restore", "maintenance_quick", "maintenance_full"] as const;

/** Every tenant's runs, newest first, with the seed's engine / destination / log_ref columns. */
export default function AdminRunsPage() {
  const trpc = useTRPC();
  const [tenantId, setTenantId] = useState("");
  const [status, setStatus] = useState<"" | (typeof statuses)[number]>("");
  const [runType, setRunType] = useState<"" | (typeof runTypes)[number]>("");
  const [engine, setEngine] = useState<"" | "backup" | "sync">("");
  const filters = {
    ...(tenantId ? { tenantId } : {}),
    ...(status ? { status: [status] } : {}),
    ...(runType ? { runType: [runType] } : {}),
    ...(engine ? { engine } : {}),
  };
  const pages = useCursorPages(JSON.stringify(filters));
  const runs = useQuery({
    ...trpc.admin.runs.queryOptions({ ...filters, limit: 50, cursor: pages.cursor }),
    refetchInterval: pages.page === 1 ? 10_000 : false,
  });
  return (
    <>
      <PageHeader title="Runs" description="Backups, restores and maintenance of every tenant." />
      <div className="flex flex-wrap items-end gap-3">
        <Filter label="Tenant" id="runs-tenant">
          <TenantSelect id="runs-tenant" value={tenantId} onChange={setTenantId} />
        </Filter>
        <FilterSelect
          label="Status"
          id="runs-status"
          value={status}
          onChange={setStatus}
          options={statuses.map((value) => ({ value, label: value }))}
        />
        <FilterSelect
          label="Type"
          id="runs-type"
          value={runType}
          onChange={setRunType}
          options={runTypes.map((value) => ({ value, label: runTypeLabels[value] ?? value }))}
        />
        <FilterSelect label="Engine" id="runs-engine" value={engine} onChange={setEngine} options={engineOptions} />
      </div>
      <ErrorState error={runs.error} onRetry={runs.refetch} what="The run list" />
      <AdminRunTable runs={runs.data?.runs} label="Runs" />
      <Pager pages={pages} nextCursor={runs.data?.nextCursor} label="Run pages" />
    </>
  );
}
