"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import type { ReactNode } from "react";
import { useTRPC } from "../../lib/trpc-client.tsx";
import { Badge } from "../ui/badge.tsx";
import { NativeSelect } from "../ui/input.tsx";
import { RelativeTime } from "../ui/relative-time.tsx";
import { StatusBadge } from "../ui/status-badge.tsx";
import type { Column } from "../ui/table.tsx";

// Small pieces the admin pages share: the tenant filter, destinations as text, the verdict counts, links, badges
// and the agent columns.

export function TenantSelect({
  value,
  onChange,
  id,
}: {
  value: string;
  onChange: (tenantId: string) => void;
  id?: string;
}) {
  const trpc = useTRPC();
  const tenants = useQuery(trpc.admin.tenants.queryOptions());
  return (
    <NativeSelect id={id} value={value} onChange={(event) => onChange(event.target.value)}>
      <option value="">All tenants</option>
      {tenants.data?.map((tenant) => (
        <option key={tenant.id} value={tenant.id}>
          {tenant.name}
        </option>
      ))}
    </NativeSelect>
  );
}

type Destination = {
  destType: string;
  destBucket: string | null;
  destPrefix: string | null;
  destLocalPath: string | null;
};

/** The seed's destination column: s3://bucket/prefix or the agent-local folder. */
export function destinationText(row: Destination): string {
  if (row.destType === "s3") return `s3://${row.destBucket ?? "?"}${row.destPrefix ? `/${row.destPrefix}` : ""}`;
  return row.destLocalPath ?? "local folder";
}

/** The admin pages' names of run types. */
export const runTypeLabels: Record<string, string> = {
  backup: "Backup",
  restore: "Restore",
  maintenance_quick: "Maintenance (quick)",
  maintenance_full: "Maintenance (full)",
};

/** The look of a link in an admin table or detail list. */
export const adminLinkClass = "font-medium text-sky-800 underline-offset-2 hover:underline dark:text-sky-300";

export function AdminLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <Link href={href} className={adminLinkClass}>
      {children}
    </Link>
  );
}

export type VerdictCounts = { jobs: number; protected: number; overdue: number; failing: number; running: number };

/** "Am I safe?" across whatever the counts cover: the sentence first, then the four numbers. */
export function Verdict({ counts }: { counts: VerdictCounts | undefined }) {
  const problems = counts ? counts.overdue + counts.failing : 0;
  const items = [
    { key: "protected", label: "Protected", tone: "text-emerald-700 dark:text-emerald-400" },
    { key: "overdue", label: "Overdue", tone: "text-amber-700 dark:text-amber-400" },
    { key: "failing", label: "Failing", tone: "text-red-700 dark:text-red-400" },
    { key: "running", label: "Running", tone: "text-sky-700 dark:text-sky-400" },
  ] as const;
  return (
    <section aria-label="Verdict" className="space-y-3">
      <p className="min-h-7 text-lg font-medium" data-testid="verdict">
        {!counts
          ? " "
          : counts.jobs === 0
            ? "No backup jobs yet."
            : problems === 0
              ? `All ${counts.jobs} jobs are protected or on their way.`
              : `${problems} of ${counts.jobs} jobs need attention.`}
      </p>
      <ul className="grid grid-cols-2 gap-3 sm:grid-cols-4">
        {items.map((item) => (
          <li
            key={item.key}
            className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
          >
            <div className={`min-h-9 text-3xl font-semibold ${item.tone}`} data-testid={`fleet-${item.key}`}>
              {counts ? counts[item.key] : ""}
            </div>
            <div className="text-sm text-slate-600 dark:text-slate-400">{item.label}</div>
          </li>
        ))}
      </ul>
    </section>
  );
}

const cellTone: Record<string, string> = {
  success: "bg-emerald-500",
  warning: "bg-amber-500",
  failed: "bg-red-600",
  cancelled: "bg-slate-400",
  none: "bg-slate-200 dark:bg-slate-700",
};

/** The 30-day strip: one cell per day, the worst result of that day. */
export function HealthStrip({ name, days }: { name: string; days: { day: string; result: string }[] }) {
  return (
    <ol className="flex gap-0.5" aria-label={`${name}: last 30 days, worst result per day`}>
      {days.map((day) => (
        <li key={day.day} title={`${day.day}: ${day.result === "none" ? "no run" : day.result}`}>
          <span className={`block h-4 w-1.5 rounded-sm ${cellTone[day.result] ?? cellTone.none}`} />
        </li>
      ))}
    </ol>
  );
}

/** A labelled filter control above a table. */
export function Filter({ label, id, children }: { label: string; id: string; children: ReactNode }) {
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700 dark:text-slate-300">
        {label}
      </label>
      {children}
    </div>
  );
}

/** An account's or tenant's state: Active, or Disabled when `disabled` is set (a flag or the date it was disabled). */
export function ActiveBadge({ disabled }: { disabled: boolean | Date | null | undefined }) {
  return disabled ? <Badge tone="grey">Disabled</Badge> : <Badge tone="green">Active</Badge>;
}

/** Whether two-factor authentication is on. */
export function OnOffBadge({ on }: { on: boolean | null | undefined }) {
  return on ? <Badge tone="green">On</Badge> : <Badge tone="grey">Off</Badge>;
}

type AgentRow = {
  id: string;
  name: string;
  connectivity: string;
  lastSeenAt: Date | null;
  version: string | null;
  os: string | null;
  arch: string | null;
};

/** The agent's name, linked to its admin page. */
export const agentNameColumn: Column<AgentRow> = {
  key: "agent",
  header: "Agent",
  cell: (agent) => <AdminLink href={`/admin/agents/${agent.id}`}>{agent.name}</AdminLink>,
};

/** An agent's status, last contact, version and OS: the columns every admin agent table has after the name. */
export const agentColumns: readonly Column<AgentRow>[] = [
  { key: "status", header: "Status", cell: (agent) => <StatusBadge status={agent.connectivity} variant="dot" /> },
  { key: "lastSeen", header: "Last seen", cell: (agent) => <RelativeTime date={agent.lastSeenAt} /> },
  { key: "version", header: "Version", cell: (agent) => agent.version ?? "—" },
  { key: "os", header: "OS", cell: (agent) => [agent.os, agent.arch].filter(Boolean).join(" / ") || "—" },
];

type CommandRow = { status: string; deliveredAt: Date | null; completedAt: Date | null };

/** A command's state badge. */
export const commandStateColumn: Column<CommandRow> = {
  key: "state",
  header: "State",
  cell: (command) => <StatusBadge status={command.status} variant="dot" />,
};

/** When a command reached the agent and when the agent reported it done. */
export const commandDeliveryColumns: readonly Column<CommandRow>[] = [
  {
    key: "delivered",
    header: "Delivered",
    cell: (command) => <RelativeTime date={command.deliveredAt} fallback="—" />,
  },
  {
    key: "completed",
    header: "Completed",
    cell: (command) => <RelativeTime date={command.completedAt} fallback="—" />,
  },
];

/** A labelled select above a table: "Any" (the empty value) first unless `options` has its own empty entry. */
export function FilterSelect<Value extends string>({
  label,
  id,
  value,
  onChange,
  options,
}: {
  label: string;
  id: string;
  value: Value | "";
  onChange: (value: Value | "") => void;
  options: readonly { value: Value | ""; label: string }[];
}) {
  return (
    <Filter label={label} id={id}>
      <NativeSelect id={id} value={value} onChange={(event) => onChange(event.target.value as Value | "")}>
        {!options.some((option) => option.value === "") && <option value="">Any</option>}
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </NativeSelect>
    </Filter>
  );
}

/** The engine filter's choices. */
export const engineOptions = [
  { value: "backup", label: "Backup" },
  { value: "sync", label: "Sync" },
] as const;

/** A job's name linked to its admin page; `idKey` names the id field (a job row's `id`, a summary row's `jobId`). */
export function jobColumn<Key extends string>(idKey: Key): Column<{ name: string } & Record<Key, string>> {
  return {
    key: "job",
    header: "Job",
    cell: (job) => <AdminLink href={`/admin/jobs/${job[idKey]}`}>{job.name}</AdminLink>,
  };
}

/** When a job runs next. */
export const nextRunColumn: Column<{ nextRunAt: Date | null }> = {
  key: "next",
  header: "Next run",
  cell: (job) => <RelativeTime date={job.nextRunAt} fallback="not scheduled" />,
};
