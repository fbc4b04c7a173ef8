import { loadPortalStatus } from "../lib/portal-status.ts";

export const dynamic = "force-dynamic";

function describeWorker(ageSeconds: number | null): { label: string; healthy: boolean } {
  if (ageSeconds === null) return { label: "never seen", healthy: false };
  const rounded = Math.round(ageSeconds);
  return { label: `last heartbeat ${rounded}s ago`, healthy: rounded < 60 };
}

function StatusBadge({ healthy, children }: { healthy: boolean; children: string }) {
  const tone = healthy
    ? "bg-emerald-100 text-emerald-900 dark:bg-emerald-900/40 dark:text-emerald-200"
    : "bg-red-100 text-red-900 dark:bg-red-900/40 dark:text-red-200";
  return <span className={`rounded-full px-2.5 py-0.5 text-sm font-medium ${tone}`}>{children}</span>;
}

export default async function HomePage() {
  const status = await loadPortalStatus();
  const worker = describeWorker(status.workerHeartbeatAgeSeconds);
  const counts = status.counts ? Object.entries(status.counts) : [];
  return (
    <main className="mx-auto max-w-3xl space-y-8 px-6 py-12">
      <header className="space-y-1">
        <h1 className="text-3xl font-semibold">e3 backup</h1>
        <p className="text-slate-600 dark:text-slate-400" data-testid="version">{`Version ${status.version}`}</p>
        <p>
          <a href="/sign-in" className="font-medium text-sky-700 underline dark:text-sky-400">
            Sign in
          </a>
        </p>
      </header>
      <section
        aria-labelledby="health"
        className="space-y-3 rounded-lg border border-slate-200 p-5 dark:border-slate-800"
      >
        <h2 id="health" className="text-lg font-semibold">
          Health
        </h2>
        <dl className="grid grid-cols-[8rem_1fr] gap-y-2">
          <dt className="text-slate-600 dark:text-slate-400">Database</dt>
          <dd data-testid="database-health" className="flex items-center gap-2">
            {status.database.ok ? (
              <>
                <StatusBadge healthy>healthy</StatusBadge>
                <span className="text-sm text-slate-600 dark:text-slate-400">
                  PostgreSQL {status.database.serverVersion}, {status.database.latencyMs.toFixed(1)} ms
                </span>
              </>
            ) : (
              <>
                <StatusBadge healthy={false}>unreachable</StatusBadge>
                <span className="text-sm text-red-800 dark:text-red-300">{status.database.error}</span>
              </>
            )}
          </dd>
          <dt className="text-slate-600 dark:text-slate-400">Worker</dt>
          <dd data-testid="worker-health" className="flex items-center gap-2">
            <StatusBadge healthy={worker.healthy}>{worker.healthy ? "running" : "not running"}</StatusBadge>
            <span className="text-sm text-slate-600 dark:text-slate-400">{worker.label}</span>
          </dd>
        </dl>
      </section>
      {counts.length > 0 && (
        <section aria-labelledby="counts" className="space-y-3">
          <h2 id="counts" className="text-lg font-semibold">
            At a glance
          </h2>
          <ul className="grid grid-cols-2 gap-3 sm:grid-cols-5">
            {counts.map(([name, value]) => (
              <li key={name} className="rounded-lg border border-slate-200 p-4 dark:border-slate-800">
                <div className="text-2xl font-semibold" data-testid={`count-${name}`}>
                  {value}
                </div>
                <div className="text-sm capitalize text-slate-600 dark:text-slate-400">{name}</div>
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
