"use client";

import { Area, CartesianGrid, ComposedChart, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Table, TBody, Td, THead, Th, Tr } from "../../../components/ui/table.tsx";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "../../../components/ui/tabs.tsx";
import { formatBytes, formatCount, formatRatio } from "../../../lib/format.ts";

export type StoragePoint = {
  day: string;
  storedBytes: number;
  referencedBytes: number;
  snapshots: number;
  dedupRatio: number | null;
};

/** Storage used and dedup ratio per day, as a chart or, for keyboard and screen-reader users, the same as a table. */
export function StorageChart({ points }: { points: StoragePoint[] }) {
  const last = points.at(-1);
  const summary = last
    ? `Today ${formatBytes(last.storedBytes)} stored for ${formatBytes(last.referencedBytes)} of snapshot data, dedup ratio ${formatRatio(last.dedupRatio)}`
    : "No data";
  return (
    <Tabs defaultValue="chart">
      <TabsList aria-label="Storage view">
        <TabsTrigger value="chart">Chart</TabsTrigger>
        <TabsTrigger value="table">Table</TabsTrigger>
      </TabsList>
      <TabsContent value="chart">
        <figure className="space-y-2">
          <div role="img" aria-label={summary} className="h-64 text-slate-600 dark:text-slate-400">
            <ResponsiveContainer width="100%" height="100%">
              <ComposedChart data={points} margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
                <CartesianGrid strokeDasharray="3 3" stroke="currentColor" strokeOpacity={0.2} />
                <XAxis
                  dataKey="day"
                  tick={{ fill: "currentColor", fontSize: 12 }}
                  tickFormatter={(d: string) => d.slice(5)}
                />
                <YAxis
                  yAxisId="bytes"
                  tick={{ fill: "currentColor", fontSize: 12 }}
                  tickFormatter={(v: number) => formatBytes(v)}
                  width={72}
                />
                <YAxis
                  yAxisId="ratio"
                  orientation="right"
                  tick={{ fill: "currentColor", fontSize: 12 }}
                  tickFormatter={(v: number) => `${v.toFixed(1)}×`}
                  width={40}
                />
                <Tooltip
                  contentStyle={{
                    background: "var(--color-slate-900)",
                    border: "none",
                    borderRadius: 6,
                    color: "white",
                  }}
                  labelStyle={{ color: "white" }}
                  formatter={(value, name) =>
                    name === "Dedup ratio" ? formatRatio(Number(value)) : formatBytes(Number(value))
                  }
                />
                <Area
                  yAxisId="bytes"
                  dataKey="referencedBytes"
                  name="Snapshot data"
                  type="monotone"
                  stroke="var(--color-slate-400)"
                  fill="var(--color-slate-400)"
                  fillOpacity={0.15}
                  isAnimationActive={false}
                />
                <Area
                  yAxisId="bytes"
                  dataKey="storedBytes"
                  name="Stored"
                  type="monotone"
                  stroke="var(--color-sky-600)"
                  fill="var(--color-sky-600)"
                  fillOpacity={0.3}
                  isAnimationActive={false}
                />
                <Line
                  yAxisId="ratio"
                  dataKey="dedupRatio"
                  name="Dedup ratio"
                  type="monotone"
                  stroke="var(--color-emerald-500)"
                  dot={false}
                  connectNulls
                  isAnimationActive={false}
                />
              </ComposedChart>
            </ResponsiveContainer>
          </div>
          <figcaption className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600 dark:text-slate-400">
            <span className="flex items-center gap-1.5">
              <span className="block size-3 rounded-sm bg-sky-600" aria-hidden /> Stored (after dedup and compression)
            </span>
            <span className="flex items-center gap-1.5">
              <span className="block size-3 rounded-sm bg-slate-400" aria-hidden /> Snapshot data referenced
            </span>
            <span className="flex items-center gap-1.5">
              <span className="block h-0.5 w-3 bg-emerald-500" aria-hidden /> Dedup ratio (right axis)
            </span>
          </figcaption>
        </figure>
      </TabsContent>
      <TabsContent value="table">
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: the table scrolls, so keyboard users must reach it */}
        <section className="max-h-72 overflow-y-auto" tabIndex={0} aria-label="Storage per day, scrollable">
          <Table label="Storage per day">
            <THead>
              <tr>
                <Th>Day (UTC)</Th>
                <Th className="text-right">Stored</Th>
                <Th className="text-right">Snapshot data</Th>
                <Th className="text-right">Dedup ratio</Th>
                <Th className="text-right">Snapshots</Th>
              </tr>
            </THead>
            <TBody>
              {[...points].reverse().map((point) => (
                <Tr key={point.day}>
                  <Td>{point.day}</Td>
                  <Td className="text-right tabular-nums">{formatBytes(point.storedBytes)}</Td>
                  <Td className="text-right tabular-nums">{formatBytes(point.referencedBytes)}</Td>
                  <Td className="text-right tabular-nums">{formatRatio(point.dedupRatio)}</Td>
                  <Td className="text-right tabular-nums">{formatCount(point.snapshots)}</Td>
                </Tr>
              ))}
            </TBody>
          </Table>
        </section>
      </TabsContent>
    </Tabs>
  );
}
