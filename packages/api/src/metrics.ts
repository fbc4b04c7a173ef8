import type { Database } from "@e3/db";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { onlineWithinMs, staleWithinMs } from "./services/agents.ts";

// Prometheus metrics for /metrics. Request latencies are observed in-process; fleet gauges are read from the
// database at scrape time, so every portal instance reports the same fleet numbers.

export const metricsRegistry = new Registry();

const apiLatency = new Histogram({
  name: "e3_api_request_duration_seconds",
  help: "Latency of agent REST and tRPC requests",
  labelNames: ["api", "endpoint", "status"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});

const apiRequests = new Counter({
  name: "e3_api_requests_total",
  help: "Agent REST and tRPC requests by outcome",
  labelNames: ["api", "endpoint", "status"] as const,
  registers: [metricsRegistry],
});

export function observeApiRequest(api: "agent" | "trpc", endpoint: string, status: number, seconds: number): void {
  const labels = { api, endpoint, status: String(status) };
  apiLatency.observe(labels, seconds);
  apiRequests.inc(labels);
}

const runsByStatus = new Gauge({
  name: "e3_runs",
  help: "Runs by status (all time)",
  labelNames: ["status"] as const,
  registers: [metricsRegistry],
});
const queueDepth = new Gauge({
  name: "e3_run_queue_depth",
  help: "Queued runs waiting for their agent",
  registers: [metricsRegistry],
});
const agentsByConnectivity = new Gauge({
  name: "e3_agents",
  help: "Active agents by connectivity (online: seen in the last 2 minutes, stale: 15 minutes, never: enrolled, never polled)",
  labelNames: ["connectivity"] as const,
  registers: [metricsRegistry],
});
const overdueJobs = new Gauge({
  name: "e3_jobs_overdue",
  help: "Enabled jobs flagged overdue",
  registers: [metricsRegistry],
});
const workerHeartbeatAge = new Gauge({
  name: "e3_worker_heartbeat_age_seconds",
  help: "Seconds since the youngest worker heartbeat (-1: no worker ever ran)",
  registers: [metricsRegistry],
});

/** Refreshes the fleet gauges from the database, then renders every metric in Prometheus' text format. */
export async function renderMetrics(db: Database, now = new Date()): Promise<string> {
  const [statuses, agentRows, overdue, heartbeat] = await Promise.all([
    db.run.groupBy({ by: ["status"], _count: { _all: true } }),
    db.$queryRaw<{ online: bigint; stale: bigint; offline: bigint; never: bigint }[]>`
      SELECT
        count(*) FILTER (WHERE first_polled_at IS NOT NULL
                           AND last_seen_at >= ${new Date(now.getTime() - onlineWithinMs)}) AS online,
        count(*) FILTER (WHERE first_polled_at IS NOT NULL
                           AND last_seen_at < ${new Date(now.getTime() - onlineWithinMs)}
                           AND last_seen_at >= ${new Date(now.getTime() - staleWithinMs)}) AS stale,
        count(*) FILTER (WHERE first_polled_at IS NOT NULL
                           AND (last_seen_at IS NULL OR last_seen_at < ${new Date(now.getTime() - staleWithinMs)})) AS offline,
        count(*) FILTER (WHERE first_polled_at IS NULL) AS never
      FROM agents WHERE status = 'active'`,
    db.job.count({ where: { enabled: true, deletedAt: null, overdueSince: { not: null } } }),
    db.workerHeartbeat.findFirst({ orderBy: { beatAt: "desc" } }),
  ]);
  runsByStatus.reset();
  for (const row of statuses) runsByStatus.set({ status: row.status }, row._count._all);
  queueDepth.set(statuses.find((row) => row.status === "queued")?._count._all ?? 0);
  const agents = agentRows[0];
  for (const connectivity of ["online", "stale", "offline", "never"] as const) {
    agentsByConnectivity.set({ connectivity }, Number(agents?.[connectivity] ?? 0));
  }
  overdueJobs.set(overdue);
  workerHeartbeatAge.set(heartbeat ? (now.getTime() - heartbeat.beatAt.getTime()) / 1000 : -1);
  return metricsRegistry.metrics();
}
