"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import type { ReactNode } from "react";
import { useTRPC } from "../../lib/trpc-client.tsx";
import { NativeSelect } from "../ui/input.tsx";

// Small pieces the admin pages share: the tenant filter, destinations as text, the verdict counts and links.

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

export function AdminLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <Link href={href} className="font-medium text-sky-800 underline-offset-2 hover:underline dark:text-sky-300">
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

/** A label/value list for detail pages, in the order of the object's keys. */
export function Facts({ rows }: { rows: Record<string, ReactNode> }) {
  return (
    <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[12rem_1fr]">
      {Object.entries(rows).map(([label, value]) => (
        <div key={label} className="contents">
          <dt className="text-slate-600 dark:text-slate-400">{label}</dt>
          <dd className="min-w-0 break-words">{value}</dd>
        </div>
      ))}
    </dl>
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
