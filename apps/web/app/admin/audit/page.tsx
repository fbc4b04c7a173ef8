"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Filter, FilterSelect, TenantSelect } from "../../../components/admin/bits.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { Input } from "../../../components/ui/input.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { Pager, useCursorPages } from "../../../components/ui/pager.tsx";
import { RelativeTime } from "../../../components/ui/relative-time.tsx";
import { DataTable } from "../../../components/ui/table.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";

const actions = [
  { value: "", label: "Any" },
  { value: "user.impersonate", label: "Impersonation" },
  { value: "user.", label: "Users (all)" },
  { value: "tenant.", label: "Tenants (all)" },
  { value: "settings.update", label: "Settings" },
  { value: "maintenance_quick.start", label: "Quick maintenance" },
  { value: "maintenance_full.start", label: "Full maintenance" },
  { value: "restore.start", label: "Restores" },
];

/** A local date (yyyy-mm-dd from the date input) as the start of that day in the browser's time zone. */
function dayStart(value: string, plusDays = 0): Date | undefined {
  if (!value) return undefined;
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year!, month! - 1, day! + plusDays);
}

/** Who did what, when, from where: impersonation, user and tenant changes, settings, maintenance. */
export default function AuditLogPage() {
  const trpc = useTRPC();
  const [tenantId, setTenantId] = useState("");
  const [action, setAction] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const filters = {
    ...(tenantId ? { tenantId } : {}),
    ...(action ? { action } : {}),
    ...(from ? { from: dayStart(from) } : {}),
    ...(to ? { to: dayStart(to, 1) } : {}),
  };
  const pages = useCursorPages(JSON.stringify(filters));
  const log = useQuery(trpc.admin.auditLog.queryOptions({ ...filters, limit: 50, cursor: pages.cursor }));
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return (
    <>
      <PageHeader title="Audit log" description="Changes made by admins and users, newest first." />
      <div className="flex flex-wrap items-end gap-3">
        <Filter label="Tenant" id="audit-tenant">
          <TenantSelect id="audit-tenant" value={tenantId} onChange={setTenantId} />
        </Filter>
        <FilterSelect label="Action" id="audit-action" value={action} onChange={setAction} options={actions} />
        <Filter label={`From (${zone})`} id="audit-from">
          <Input id="audit-from" type="date" value={from} onChange={(event) => setFrom(event.target.value)} />
        </Filter>
        <Filter label={`To, inclusive (${zone})`} id="audit-to">
          <Input id="audit-to" type="date" value={to} onChange={(event) => setTo(event.target.value)} />
        </Filter>
      </div>
      <ErrorState error={log.error} onRetry={log.refetch} what="The audit log" />
      <DataTable
        label="Audit log"
        rows={log.data?.entries}
        rowKey={(entry) => entry.id}
        rowProps={(entry) => ({ "data-action": entry.action })}
        skeletonRows={6}
        empty="Nothing recorded for these filters."
        columns={[
          { key: "when", header: "When", cell: (entry) => <RelativeTime date={entry.createdAt} /> },
          { key: "who", header: "Who", cell: (entry) => entry.actorEmail ?? entry.actorUserId ?? "system" },
          { key: "action", header: "Action", className: "font-mono text-xs", cell: (entry) => entry.action },
          { key: "tenant", header: "Tenant", cell: (entry) => entry.tenant?.name ?? "—" },
          {
            key: "target",
            header: "Target",
            className: "font-mono text-xs",
            cell: (entry) => (entry.targetType ? `${entry.targetType} ${entry.targetId?.slice(0, 8) ?? ""}` : "—"),
          },
          { key: "ip", header: "IP address", className: "font-mono text-xs", cell: (entry) => entry.ipAddress ?? "—" },
          {
            key: "details",
            header: "Details",
            className: "max-w-80 truncate font-mono text-xs",
            cellProps: (entry) => ({ title: JSON.stringify(entry.detailJson ?? {}) }),
            cell: (entry) => (entry.detailJson ? JSON.stringify(entry.detailJson) : ""),
          },
        ]}
      />
      <Pager pages={pages} nextCursor={log.data?.nextCursor} label="Audit log pages" />
    </>
  );
}
