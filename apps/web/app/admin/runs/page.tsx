"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Filter, runTypeLabels, TenantSelect } from "../../../components/admin/bits.tsx";
import { AdminRunTable } from "../../../components/admin/run-table.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { NativeSelect } from "../../../components/ui/input.tsx";
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
        <Filter label="Status" id="runs-status">
          <NativeSelect
            id="runs-status"
            value={status}
            onChange={(event) => setStatus(event.target.value as typeof status)}
          >
            <option value="">Any</option>
            {statuses.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </NativeSelect>
        </Filter>
        <Filter label="Type" id="runs-type">
          <NativeSelect
            id="runs-type"
            value={runType}
            onChange={(event) => setRunType(event.target.value as typeof runType)}
          >
            <option value="">Any</option>
            {runTypes.map((value) => (
              <option key={value} value={value}>
                {runTypeLabels[value]}
              </option>
            ))}
          </NativeSelect>
        </Filter>
        <Filter label="Engine" id="runs-engine">
          <NativeSelect
            id="runs-engine"
            value={engine}
            onChange={(event) => setEngine(event.target.value as typeof engine)}
          >
            <option value="">Any</option>
            <option value="backup">Backup</option>
            <option value="sync">Sync</option>
          </NativeSelect>
        </Filter>
      </div>
      <ErrorState error={runs.error} onRetry={runs.refetch} what="The run list" />
      <AdminRunTable runs={runs.data?.runs} label="Runs" />
      <Pager pages={pages} nextCursor={runs.data?.nextCursor} label="Run pages" />
    </>
  );
}
