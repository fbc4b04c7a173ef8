import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { isEngineError } from "../src/errors.ts";
import { forget } from "../src/lifecycle/forget.ts";
import { planRetention, type RetentionPolicy } from "../src/lifecycle/retention.ts";
import { lockRepository } from "../src/repository/lock.ts";
import { initLocalRepository, type Repository } from "../src/repository/repository.ts";
import { RepositoryWriter } from "../src/repository/writer.ts";
import { formatGoTime } from "../src/tree/go-time.ts";
import { encodeTree } from "../src/tree/tree-json.ts";

// Our retention plan is restic's: random snapshot timelines (years of times in several UTC offsets, dense runs inside
// one hour or day, snapshots in the future, tags, several hosts and path sets) and random policies, planned by us and
// by restic 0.14's `forget --dry-run --json` on a repository holding those snapshots. After our forget, restic lists
// exactly what we kept and its check passes.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-forget-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const password = "forget interop";
const fastScrypt = { N: 1024, r: 8, p: 1 };
const second = 1_000_000_000n;
const year2014 = 1_388_534_400n * second;
const tenYears = 10n * 365n * 86_400n * second;

function restic(repo: string, ...args: string[]) {
  // UTC for restic's local zone: Go's AddDate in a local zone with summer time shifts keep-within windows by the
  // hour it crosses (retention.ts reads every time in its own fixed offset).
  return run("restic", ["--no-cache", "-r", repo, ...args], {
    env: { ...process.env, RESTIC_PASSWORD: password, TZ: "UTC" },
    maxBuffer: 1 << 26,
  });
}

type Timeline = { hostname: string; paths: string[]; snapshots: { instant: bigint; offset: number; tags: string[] }[] };

const offsets = [0, 3600, 7200, -18_000, 19_800, 50_400, -43_200];
const instant = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: tenYears }).map((at) => year2014 + at) },
  // Snapshots in the future count for keep-within but do not anchor it.
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: tenYears }).map((at) => year2014 + 8n * tenYears + at) },
);
/** Runs of snapshots minutes or hours apart, so hourly and daily periods hold several. */
const burst = fc
  .tuple(instant, fc.array(fc.bigInt({ min: 1n, max: 7200n * second }), { minLength: 1, maxLength: 12 }))
  .map(([start, steps]) => steps.map((_, index) => start + steps.slice(0, index + 1).reduce((a, b) => a + b, 0n)));
const timeline = (index: number) =>
  fc
    .record({
      times: fc.array(
        fc.oneof(
          instant.map((at) => [at]),
          burst,
        ),
        { minLength: 1, maxLength: 6 },
      ),
      offsets: fc.array(fc.constantFrom(...offsets), { minLength: 40, maxLength: 40 }),
      tags: fc.array(fc.subarray(["a", "b", "c"]), { minLength: 40, maxLength: 40 }),
    })
    .map(({ times, offsets: zones, tags }): Timeline => {
      const unique = [...new Set(times.flat())];
      return {
        // Two hosts and a path set per timeline: groups split by host and by paths.
        hostname: `host-${index % 2}`,
        paths: [`/srv/t${index}`, "/home"],
        snapshots: unique.map((at, n) => ({
          instant: at,
          offset: zones[n % zones.length]!,
          tags: tags[n % tags.length]!,
        })),
      };
    });

const duration = fc
  .record({ y: fc.nat(2), m: fc.nat(14), d: fc.nat(40), h: fc.nat(50) })
  .filter(({ y, m, d, h }) => y + m + d + h > 0)
  .map(({ y, m, d, h }) => `${h ? `${h}h` : ""}${y ? `${y}y` : ""}${d ? `${d}d` : ""}${m ? `${m}m` : ""}`);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 3 });
const policy: fc.Arbitrary<RetentionPolicy> = fc
  .record({
    keepLast: maybe(fc.integer({ min: 1, max: 6 })),
    keepHourly: maybe(fc.integer({ min: 1, max: 8 })),
    keepDaily: maybe(fc.integer({ min: 1, max: 10 })),
    keepWeekly: maybe(fc.integer({ min: 1, max: 6 })),
    keepMonthly: maybe(fc.integer({ min: 1, max: 14 })),
    keepYearly: maybe(fc.integer({ min: 1, max: 4 })),
    keepWithin: maybe(duration),
    keepWithinHourly: maybe(duration),
    keepWithinDaily: maybe(duration),
    keepWithinWeekly: maybe(duration),
    keepWithinMonthly: maybe(duration),
    keepWithinYearly: maybe(duration),
    keepTags: maybe(fc.constantFrom([["a"]], [["a", "b"]], [[""]], [["c"], ["b", "a"]])),
  })
  .map((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)))
  .filter((record) => Object.keys(record).length > 0);

const flags: Record<string, string> = {
  keepLast: "--keep-last",
  keepHourly: "--keep-hourly",
  keepDaily: "--keep-daily",
  keepWeekly: "--keep-weekly",
  keepMonthly: "--keep-monthly",
  keepYearly: "--keep-yearly",
  keepWithin: "--keep-within",
  keepWithinHourly: "--keep-within-hourly",
  keepWithinDaily: "--keep-within-daily",
  keepWithinWeekly: "--keep-within-weekly",
  keepWithinMonthly: "--keep-within-monthly",
  keepWithinYearly: "--keep-within-yearly",
};
function resticArguments(rules: RetentionPolicy): string[] {
  return Object.entries(rules).flatMap(([rule, value]) =>
    rule === "keepTags"
      ? (value as string[][]).flatMap((list) => ["--keep-tag", list.join(",")])
      : [flags[rule]!, String(value)],
  );
}

async function repositoryWith(name: string, timelines: Timeline[]): Promise<{ repo: string; repository: Repository }> {
  const repo = join(dir, name);
  const repository = await initLocalRepository(repo, password, { scrypt: fastScrypt });
  const writer = new RepositoryWriter(repository.key, repository.storage);
  const tree = encodeTree([]);
  await writer.addBlob("tree", tree.bytes);
  for (const { hostname, paths, snapshots } of timelines) {
    for (const [n, snapshot] of snapshots.entries()) {
      await writer.writeSnapshot({
        time: formatGoTime(snapshot.instant, { offsetSeconds: snapshot.offset }),
        tree: tree.id,
        // restic sorts the paths of its group key; ours must too.
        paths: n % 2 ? [...paths].reverse() : paths,
        hostname,
        ...(snapshot.tags.length ? { tags: snapshot.tags } : {}),
      });
    }
  }
  return { repo, repository };
}

type ResticSnapshot = { id: string };
type ResticGroup = {
  host: string;
  paths: string[];
  keep: ResticSnapshot[] | null;
  remove: ResticSnapshot[] | null;
  reasons: { matches: string[]; counters: Record<string, number> }[] | null;
};
const zeroCounters = { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0 };

/** Both plans in one shape: per group, the kept ids with reasons and counters, and the removed ids. */
async function comparePlans(repo: string, repository: Repository, rules: RetentionPolicy) {
  const { stdout } = await restic(repo, "forget", "--dry-run", "--json", ...resticArguments(rules));
  const theirs = (JSON.parse(stdout) as ResticGroup[])
    .map((group) => ({
      group: `${group.host} ${group.paths.join(" ")}`,
      keep: (group.keep ?? []).map((snapshot, n) => ({
        id: snapshot.id,
        reasons: group.reasons?.[n]?.matches,
        counters: { ...zeroCounters, ...group.reasons?.[n]?.counters },
      })),
      remove: (group.remove ?? []).map((snapshot) => snapshot.id),
    }))
    .sort((a, b) => a.group.localeCompare(b.group));
  const { plan } = await forget(repository, { policy: rules, dryRun: true });
  const ours = plan.groups.map((group) => ({
    group: `${group.hostname} ${group.paths.join(" ")}`,
    keep: group.keep.map((kept) => ({ id: kept.snapshot.id, reasons: kept.reasons, counters: kept.counters })),
    remove: group.remove.map((snapshot) => snapshot.id),
  }));
  return { ours, theirs, plan };
}

describe("forget", () => {
  it("plans exactly as restic 0.14's forget for random timelines and policies", async () => {
    let combinations = 0;
    let removed = 0;
    let kept = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(timeline(0), timeline(1), timeline(2), timeline(3)),
        fc.array(policy, { minLength: 4, maxLength: 4 }),
        async (timelines, policies) => {
          const { repo, repository } = await repositoryWith(`random-${combinations}`, timelines);
          for (const rules of policies) {
            const { ours, theirs, plan } = await comparePlans(repo, repository, rules);
            expect(ours, JSON.stringify(rules)).toEqual(theirs);
            combinations += plan.groups.length;
            removed += plan.remove.length;
            kept += plan.groups.reduce((sum, group) => sum + group.keep.length, 0);
          }
        },
      ),
      { numRuns: 10, endOnFailure: true },
    );
    // The generators reach the interesting cases: plenty kept and removed over 40 policies on 160 groups.
    expect(combinations).toBeGreaterThanOrEqual(120);
    expect(removed).toBeGreaterThan(100);
    expect(kept).toBeGreaterThan(100);
  }, 60_000);

  it("removes what the plan drops, under an exclusive lock; restic lists what we kept and checks clean", async () => {
    const [timelines] = fc.sample(fc.tuple(timeline(0), timeline(1), timeline(2)), { numRuns: 1, seed: 7 });
    const { repo, repository } = await repositoryWith("applied", timelines!);
    const rules: RetentionPolicy = { keepDaily: 3, keepMonthly: 2, keepTags: [["c"]] };

    // Not beside another holder of a lock (a backup in progress).
    const backup = await lockRepository(repository, { exclusive: false });
    const locked = await forget(repository, { policy: rules }).catch((error: unknown) => error);
    expect(isEngineError(locked, "REPO_LOCKED")).toBe(true);
    await backup.release();

    const before = planRetention(
      JSON.parse((await restic(repo, "snapshots", "--json")).stdout) as {
        id: string;
        time: string;
        paths: string[];
        hostname: string;
        tags?: string[];
      }[],
      rules,
    );
    const { plan, removed } = await forget(repository, { policy: rules });
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.sort()).toEqual(before.remove.map((snapshot) => snapshot.id).sort());
    const left = JSON.parse((await restic(repo, "snapshots", "--json")).stdout) as { id: string }[];
    expect(left.map((snapshot) => snapshot.id).sort()).toEqual(
      plan.groups.flatMap((group) => group.keep.map((kept) => kept.snapshot.id)).sort(),
    );
    expect((await restic(repo, "check")).stdout).toContain("no errors were found");
    expect((await restic(repo, "list", "locks")).stdout).toBe("");
  });

  it("refuses to empty a group unless forced", async () => {
    const { repo, repository } = await repositoryWith("emptied", [
      { hostname: "solo", paths: ["/x"], snapshots: [{ instant: year2014, offset: 0, tags: [] }] },
      { hostname: "solo", paths: ["/y"], snapshots: [{ instant: year2014, offset: 0, tags: ["release"] }] },
    ]);
    const rules = { keepTags: [["release"]] };
    const refused = await forget(repository, { policy: rules }).catch((error: unknown) => error);
    expect(isEngineError(refused, "RETENTION_REMOVES_ALL")).toBe(true);
    expect((refused as Error).message).toContain("solo:/x");
    expect(JSON.parse((await restic(repo, "snapshots", "--json")).stdout)).toHaveLength(2);
    const forced = await forget(repository, { policy: rules, force: true });
    expect(forced.removed).toHaveLength(1);
    expect(JSON.parse((await restic(repo, "snapshots", "--json")).stdout)).toHaveLength(1);
  });
});
