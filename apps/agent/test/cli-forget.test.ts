import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { encodeTree, formatGoTime, initLocalRepository, RepositoryWriter } from "@e3/engine";
import { afterAll, describe, expect, it } from "vitest";
import { jsonLines, runAgent } from "./agent-cli.ts";

// forget and key as an operator runs them: forget's --json is restic's own document (a script written for restic
// reads ours), the plan is applied only without --dry-run, mistakes in the policy are usage errors, and key
// add/list/remove/passwd leave passwords that restic agrees with.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-cli-forget-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const password = "cli forget";
const restic = (repo: string, pass: string, ...args: string[]) =>
  run("restic", ["--no-cache", "-r", repo, ...args], { env: { ...process.env, RESTIC_PASSWORD: pass, TZ: "UTC" } });

/** Two hosts, a month of snapshots every 11 hours, some tagged. */
async function repositoryWithSnapshots(name: string): Promise<string> {
  const repo = join(dir, name);
  const repository = await initLocalRepository(repo, password, { scrypt: { N: 1024, r: 8, p: 1 } });
  const writer = new RepositoryWriter(repository.key, repository.storage);
  const tree = encodeTree([]);
  await writer.addBlob("tree", tree.bytes);
  for (let n = 0; n < 60; n++) {
    await writer.writeSnapshot({
      time: formatGoTime(BigInt(Date.UTC(2023, 0, 1) + n * 11 * 3_600_000 + n) * 1_000_000n, "utc"),
      tree: tree.id,
      paths: ["/etc", "/home"],
      hostname: n % 3 ? "web" : "db",
      ...(n % 7 === 0 ? { tags: ["monthly"] } : {}),
    });
  }
  return repo;
}

const ids = (snapshots: { id: string }[] | null) => (snapshots ?? []).map((snapshot) => snapshot.id);
type Group = { host: string; keep: { id: string }[] | null; remove: { id: string }[] | null };

describe("e3-backup-agent forget", () => {
  it("prints restic's forget --json document, and removes only without --dry-run", async () => {
    const repo = await repositoryWithSnapshots("plan");
    const env = { E3_REPOSITORY: repo, E3_PASSWORD: password };
    const policy = ["--keep-last", "2", "--keep-daily", "4", "--keep-weekly", "2", "--keep-tag", " monthly "];

    const preview = await runAgent(["forget", "--dry-run", "--json", ...policy], env);
    expect(preview.stderr).toBe("");
    expect(preview.status).toBe(0);
    const ours = jsonLines(preview.stdout)[0] as unknown as Group[];
    const theirs = JSON.parse((await restic(repo, password, "forget", "--dry-run", "--json", ...policy)).stdout);
    const byHost = (groups: Group[]) => [...groups].sort((a, b) => a.host.localeCompare(b.host));
    expect(byHost(ours)).toEqual(byHost(theirs));
    expect(ours.flatMap((group) => ids(group.remove)).length).toBeGreaterThan(20);
    expect((await readdir(join(repo, "snapshots"))).length).toBe(60);

    const applied = await runAgent(["forget", ...policy, "--host", "db"], env);
    expect(applied.stderr).toBe("");
    expect(applied.status).toBe(0);
    expect(applied.stdout).toMatch(
      /^Applying Policy: keep 2 latest, 4 daily, 2 weekly snapshots and all snapshots with tags \[\[monthly\]\]$/m,
    );
    expect(applied.stdout).toMatch(/^snapshots for \(host \[db\], paths \[\/etc, \/home\]\):$/m);
    expect(applied.stdout).toMatch(/last snapshot, daily snapshot, weekly snapshot/);
    expect(applied.stdout).not.toContain("host [web]");
    const dbGroup = ours.find((group) => group.host === "db")!;
    const left = JSON.parse((await restic(repo, password, "snapshots", "--json")).stdout) as { id: string }[];
    const expected = ours.flatMap((group) =>
      group.host === "db" ? ids(group.keep) : [...ids(group.keep), ...ids(group.remove)],
    );
    expect(ids(left).sort()).toEqual(expected.sort());
    expect(applied.stdout).toContain(`removed ${ids(dbGroup.remove).length} snapshots`);
  });

  it.each([
    [[], /no keep rule/],
    [["--keep-daily", "seven"], /--keep-daily takes a number/],
    [["--keep-last=-1"], /--keep-last cannot be negative/],
    [["--keep-within", "7 days"], /"7 days" is not a duration/],
  ])("refuses the policy %j before opening the repository", async (flags, message) => {
    const result = await runAgent(["forget", "--repo", join(dir, "nowhere"), ...flags], { E3_PASSWORD: "x" });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/see 'e3-backup-agent forget --help'/);
  });

  it("will not empty a group unless forced", async () => {
    const repo = await repositoryWithSnapshots("emptied");
    const env = { E3_REPOSITORY: repo, E3_PASSWORD: password };
    const refused = await runAgent(["forget", "--keep-tag", "release"], env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /would remove every snapshot of db:\/etc,\/home; web:\/etc,\/home.*\[RETENTION_REMOVES_ALL\]/,
    );
    const warned = await runAgent(["forget", "--keep-tag", "release", "--dry-run"], env);
    expect(warned.status).toBe(0);
    expect(warned.stderr).toMatch(/removes every snapshot of 2 group\(s\)/);
    expect((await readdir(join(repo, "snapshots"))).length).toBe(60);
    const forced = await runAgent(["forget", "--keep-tag", "release", "--force"], env);
    expect(forced.status).toBe(0);
    expect(await readdir(join(repo, "snapshots"))).toEqual([]);
  });
});

describe("e3-backup-agent key", () => {
  it("adds, lists, removes and changes passwords as restic sees them", async () => {
    const repo = join(dir, "keys");
    const first = await initLocalRepository(repo, password, { scrypt: { N: 1024, r: 8, p: 1 } });
    const env = { E3_REPOSITORY: repo, E3_PASSWORD: password };

    const missing = await runAgent(["key", "add"], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no new password: set E3_NEW_PASSWORD or pass --new-password-file FILE/);

    const added = await runAgent(["key", "add", "--json", "--user", "customer"], {
      ...env,
      E3_NEW_PASSWORD: "recovery",
    });
    expect(added.stderr).toBe("");
    const recovery = jsonLines(added.stdout)[0]!.id as string;
    await restic(repo, "recovery", "cat", "config");

    const listed = await runAgent(["key", "list", "--json"], env);
    const keys = jsonLines(listed.stdout)[0] as unknown as { id: string; current: boolean; username: string }[];
    expect(keys.map((key) => [key.id, key.current])).toEqual([
      [first.keyId, true],
      [recovery, false],
    ]);
    expect(keys[1]!.username).toBe("customer");
    const table = await runAgent(["key", "list"], env);
    expect(table.stdout).toContain(`*${first.keyId!.slice(0, 8)}`);

    const refused = await runAgent(["key", "remove", first.keyId!.slice(0, 8)], env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/is the one this password opened.*\[KEY_IN_USE\]/);
    const usage = await runAgent(["key", "remove"], env);
    expect(usage.stderr).toMatch(/key takes list, add, remove ID or passwd/);

    const passwordFile = join(dir, "new-password");
    await writeFile(passwordFile, "second\n");
    const changed = await runAgent(["key", "passwd", "--new-password-file", passwordFile], env);
    expect(changed.stderr).toBe("");
    expect(changed.stdout).toMatch(new RegExp(`removed key ${first.keyId}`));
    await restic(repo, "second", "cat", "config");
    await expect(restic(repo, password, "cat", "config")).rejects.toMatchObject({ stderr: /wrong password/ });

    const removed = await runAgent(["key", "remove", recovery], { ...env, E3_PASSWORD: "second" });
    expect(removed.stdout).toBe(`removed key ${recovery}\n`);
    expect(await readdir(join(repo, "keys"))).toHaveLength(1);
  });
});
