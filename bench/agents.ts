// `pnpm bench:agents [--agents N] [--seconds S] [--servers K] [--workers W] [--saturation]`
//
// Load harness for the control plane: N simulated agents poll next_run every 10 s (jittered), and while they hold a
// run they heartbeat with update_run every 30 s and push events every 10 s, finishing each run after about a minute.
// Runs come from the scheduler (every job has a 5-minute interval) and from a pre-filled queue. It runs against the
// production build (`next start`) on a fresh PostgreSQL database, with K portal instances and W workers, and reports
// requests/s, latency percentiles per endpoint, errors, duplicate claims and duplicate scheduled runs.
// Not part of the test suite: it takes minutes and measures this machine.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { applyMigrations, hashToken } from "@e3/db";
import { createTestDatabase } from "@e3/db/testing";
import pg from "pg";

const root = join(import.meta.dirname, "..");
const { values: options } = parseArgs({
  options: {
    agents: { type: "string", default: "2000" },
    seconds: { type: "string", default: "90" },
    /** Seconds at the start (server JIT, the fleet's first polls, the pre-filled queue) left out of the numbers. */
    warmup: { type: "string", default: "20" },
    servers: { type: "string", default: "1" },
    workers: { type: "string", default: "1" },
    saturation: { type: "boolean", default: false },
  },
});

type Sample = { endpoint: string; ms: number; ok: boolean; at: number };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitHealthy(url: string) {
  for (let i = 0; i < 120; i++) {
    const ok = await fetch(`${url}/api/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(500);
  }
  throw new Error(`${url} did not become healthy`);
}

function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): ChildProcess {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
  child.on("exit", (code, signal) => {
    if (code !== null && code !== 0) console.error(`${args.join(" ")} exited with ${code ?? signal}`);
  });
  return child;
}

async function seed(databaseUrl: string, agentCount: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tenant = await client.query<{ id: string }>(
      `INSERT INTO tenants (name, slug, updated_at) VALUES ('Load', 'load', now()) RETURNING id`,
    );
    const tenantId = tenant.rows[0]!.id;
    const agents: { agentId: string; agentToken: string }[] = [];
    for (let offset = 0; offset < agentCount; offset += 500) {
      const batch = Array.from({ length: Math.min(500, agentCount - offset) }, (_, i) => ({
        name: `load-${offset + i}`,
        token: `e3agt_${randomBytes(32).toString("base64url")}`,
      }));
      const inserted = await client.query<{ id: string; name: string }>(
        `INSERT INTO agents (tenant_id, name, hostname, token_hash, updated_at)
         SELECT $1, n, n, h, now() FROM unnest($2::text[], $3::text[]) AS t(n, h) RETURNING id, name`,
        [tenantId, batch.map((b) => b.name), batch.map((b) => hashToken(b.token))],
      );
      const tokenByName = new Map(batch.map((b) => [b.name, b.token]));
      for (const row of inserted.rows) agents.push({ agentId: row.id, agentToken: tokenByName.get(row.name)! });
    }
    // One local-destination job per agent on a 5-minute interval, due at random moments over the first minutes.
    await client.query(
      `INSERT INTO jobs (tenant_id, agent_id, name, engine, source_paths, dest_type, dest_local_path, schedule_json,
                         next_run_at, updated_at)
       SELECT $1, id, 'load job', 'backup', ARRAY['/data'], 'local', '/backups',
              '{"kind":"interval","everySeconds":300}'::jsonb, now() + random() * interval '120 seconds', now()
       FROM agents`,
      [tenantId],
    );
    // A pre-filled queue: one manual run for every fourth agent.
    await client.query(
      `INSERT INTO runs (tenant_id, job_id, agent_id, engine, dest_type, dest_local_path, updated_at)
       SELECT tenant_id, id, agent_id, engine, dest_type, dest_local_path, now() FROM jobs WHERE random() < 0.25`,
    );
    return agents;
  } finally {
    await client.end();
  }
}

async function measureLoad(agentCount: number, seconds: number, serverCount: number, workerCount: number) {
  const database = await createTestDatabase("bench");
  await applyMigrations(database.url);
  const agents = await seed(database.url, agentCount);
  const env = {
    DATABASE_URL: database.url,
    E3_SECRET_KEY: randomBytes(32).toString("base64"),
    E3_AUTH_SECRET: randomBytes(32).toString("hex"),
    NEXT_TELEMETRY_DISABLED: "1",
    WORKER_TICK_SECONDS: "5",
  };
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  const nextBin = join(root, "apps", "web", "node_modules", "next", "dist", "bin", "next");
  for (let i = 0; i < serverCount; i++) {
    const port = 3900 + i;
    children.push(
      startProcess(
        process.execPath,
        [nextBin, "start", "--port", String(port), "--hostname", "127.0.0.1"],
        env,
        join(root, "apps", "web"),
      ),
    );
    urls.push(`http://127.0.0.1:${port}`);
  }
  for (let i = 0; i < workerCount; i++) {
    children.push(
      startProcess(process.execPath, [join(root, "packages", "api", "src", "worker", "main.ts")], env, root),
    );
  }
  try {
    await Promise.all(urls.map(waitHealthy));
    const samples: Sample[] = [];
    const claims = new Map<string, number>();
    let requestCounter = 0;
    const measureFrom = Date.now() + Number(options.warmup) * 1000;
    const deadline = measureFrom + seconds * 1000;

    async function call(agent: { agentId: string; agentToken: string }, endpoint: string, body: unknown) {
      const url = urls[requestCounter++ % urls.length]!;
      const started = performance.now();
      // Only requests sent after the warm-up count, so the start-up backlog does not colour the numbers.
      const measured = Date.now() >= measureFrom;
      try {
        const response = await fetch(`${url}/agent/${endpoint}`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-agent-id": agent.agentId,
            "x-agent-token": agent.agentToken,
          },
          body: JSON.stringify(body),
        });
        const payload = (await response.json()) as Record<string, unknown>;
        if (measured)
          samples.push({ endpoint, ms: performance.now() - started, ok: response.ok, at: Date.now() - measureFrom });
        return response.ok ? payload : null;
      } catch {
        if (measured)
          samples.push({ endpoint, ms: performance.now() - started, ok: false, at: Date.now() - measureFrom });
        return null;
      }
    }

    async function runAgent(agent: { agentId: string; agentToken: string }) {
      await sleep(Math.random() * 10_000);
      let seq = 0;
      while (Date.now() < deadline) {
        const answer = (await call(agent, "next_run", {})) as {
          run: { runId: string; reclaimed: boolean } | null;
        } | null;
        const run = answer?.run;
        if (!run) {
          await sleep(9_000 + Math.random() * 2_000);
          continue;
        }
        if (!run.reclaimed) claims.set(run.runId, (claims.get(run.runId) ?? 0) + 1);
        const finishAt = Date.now() + 45_000 + Math.random() * 30_000;
        let nextHeartbeat = 0;
        while (Date.now() < Math.min(finishAt, deadline)) {
          if (Date.now() >= nextHeartbeat) {
            await call(agent, "update_run", {
              runId: run.runId,
              status: "running",
              progress: { phase: "uploading", filesDone: seq },
            });
            nextHeartbeat = Date.now() + 30_000;
          }
          seq += 1;
          await call(agent, "push_events", {
            runId: run.runId,
            events: [{ seq, ts: new Date().toISOString(), type: "BACKUP_PROGRESS", data: { filesDone: seq } }],
          });
          await sleep(10_000);
        }
        if (Date.now() < deadline) await call(agent, "update_run", { runId: run.runId, status: "success" });
      }
    }

    await Promise.all(agents.map(runAgent));
    const elapsed = (Date.now() - measureFrom) / 1000;

    const check = new pg.Client({ connectionString: database.url });
    await check.connect();
    const duplicateSlots = await check.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT job_id, scheduled_for FROM runs WHERE scheduled_for IS NOT NULL
         GROUP BY 1, 2 HAVING count(*) > 1) d`,
    );
    const doubleQueued = await check.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT job_id FROM runs WHERE status = 'queued' GROUP BY 1 HAVING count(*) > 1) d`,
    );
    const scheduled = await check.query<{ n: string }>(`SELECT count(*) AS n FROM runs WHERE trigger = 'schedule'`);
    await check.end();

    const endpoints = [...new Set(samples.map((s) => s.endpoint))].sort();
    const rows = endpoints.map((endpoint) => {
      const mine = samples.filter((s) => s.endpoint === endpoint);
      const sorted = mine.map((s) => s.ms).sort((a, b) => a - b);
      return {
        endpoint,
        requests: mine.length,
        errors: mine.filter((s) => !s.ok).length,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
      };
    });
    const all = samples.map((s) => s.ms).sort((a, b) => a - b);
    if (process.env.E3_BENCH_DEBUG) {
      const slow = [...samples].sort((a, b) => b.ms - a.ms).slice(0, 30);
      console.log(slow.map((s) => `${(s.at / 1000).toFixed(1)}s ${s.endpoint} ${s.ms.toFixed(0)}ms`).join("\n"));
    }
    return {
      agents: agentCount,
      servers: serverCount,
      workers: workerCount,
      seconds: elapsed,
      requestsPerSecond: samples.length / elapsed,
      errors: samples.filter((s) => !s.ok).length,
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      duplicateClaims: [...claims.values()].filter((count) => count > 1).length,
      claimedRuns: claims.size,
      scheduledRuns: Number(scheduled.rows[0]!.n),
      duplicateScheduledSlots: Number(duplicateSlots.rows[0]!.n),
      jobsWithTwoQueuedRuns: Number(doubleQueued.rows[0]!.n),
      rows,
    };
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await sleep(1000);
    await database.drop();
  }
}

function report(result: Awaited<ReturnType<typeof measureLoad>>) {
  console.log(
    `\n${result.agents} agents, ${result.servers} portal instance(s), ${result.workers} worker(s), ` +
      `${result.seconds.toFixed(0)} s measured after ${options.warmup} s of warm-up`,
  );
  console.log("endpoint              requests  errors   p50 ms   p99 ms");
  for (const row of result.rows) {
    console.log(
      `${row.endpoint.padEnd(20)} ${String(row.requests).padStart(9)} ${String(row.errors).padStart(7)} ${row.p50.toFixed(1).padStart(8)} ${row.p99.toFixed(1).padStart(8)}`,
    );
  }
  console.log(
    `total: ${result.requestsPerSecond.toFixed(0)} req/s, errors ${result.errors}, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`,
  );
  console.log(
    `claims: ${result.claimedRuns} runs claimed, ${result.duplicateClaims} claimed twice; scheduler: ${result.scheduledRuns} runs, ` +
      `${result.duplicateScheduledSlots} duplicate slots, ${result.jobsWithTwoQueuedRuns} jobs with two queued runs`,
  );
}

if (!existsSync(join(root, "apps", "web", ".next", "BUILD_ID"))) {
  console.error("bench:agents needs the production build: run `pnpm build` first");
  process.exit(2);
}

const seconds = Number(options.seconds);
if (options.saturation) {
  // Double the fleet until p99 passes 100 ms or errors appear; the last passing size is the saturation point.
  let passing = 0;
  for (let agents = 1000; agents <= 32_000; agents *= 2) {
    const result = await measureLoad(agents, seconds, Number(options.servers), Number(options.workers));
    report(result);
    if (result.errors > 0 || result.p99 >= 100 || result.duplicateClaims > 0) break;
    passing = agents;
  }
  console.log(`\nsaturation: ${passing} agents still met p99 < 100 ms with no errors`);
} else {
  report(await measureLoad(Number(options.agents), seconds, Number(options.servers), Number(options.workers)));
}
