import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { expectSameListing, listFolder } from "../../../packages/engine/test/fs-listing.ts";
import { s3TestBuckets } from "../../../packages/engine/test/storage-s3-env.ts";
import { jsonLines, linkedBin, nobody, runAgent, unreadableFixture } from "./agent-cli.ts";

// The engine CLI end to end, as an operator runs it: init, backup, snapshots, ls and restore against a folder and
// a real S3 server, checked by the real restic; exit codes 0/1/3 and one-line errors that say what to do.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-cli-"));
await chmod(dir, 0o755);
const s3 = s3TestBuckets(afterAll);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function makeSource(source: string): Promise<void> {
  await mkdir(join(source, "docs", "empty"), { recursive: true });
  await writeFile(join(source, "docs", "report.txt"), "quarterly numbers\n".repeat(20_000));
  const random = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < random.length; i += 4) random.writeUInt32LE((i * 2654435761) >>> 0, i);
  await writeFile(join(source, "data.bin"), random);
  await writeFile(join(source, "skip.tmp"), "excluded");
  await symlink("docs/report.txt", join(source, "latest-report"));
}

const locations = {
  "a local folder": () => ({ repo: join(dir, "local-repo"), env: {} }),
  "an S3 bucket": () => ({ repo: `s3:${s3.env.endpoint}/${s3.bucket("cli")}/e3-repo`, env: s3.storageEnv }),
};

describe("e3-backup-agent", () => {
  it("runs from node_modules/.bin after setup", async () => {
    const { stdout } = await run(linkedBin, ["--help"]);
    expect(stdout).toMatch(/^usage: e3-backup-agent <command>/);
  });

  it.each(Object.keys(locations))("initialises, backs up, lists and restores in %s", async (label) => {
    const { repo, env: storageEnv } = locations[label as keyof typeof locations]();
    const source = join(dir, `source-${label.replace(/ /g, "-")}`);
    await makeSource(source);
    const env = { ...storageEnv, E3_REPOSITORY: repo, E3_PASSWORD: "cli password", AWS_CA_BUNDLE: undefined };

    const init = await runAgent(["init", "--json"], env);
    expect(init.stderr).toBe("");
    expect(init.status).toBe(0);
    expect(jsonLines(init.stdout)[0]).toMatchObject({ message_type: "initialized", repository: repo });
    const again = await runAgent(["init"], env);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already holds a repository/);

    const first = await runAgent(["backup", "--json", "--exclude", "*.tmp", "--tag", "cli", source], env);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const summary = jsonLines(first.stdout).at(-1)!;
    expect(summary).toMatchObject({ message_type: "summary", files_new: 2, errors: 0 });
    const statuses = jsonLines(first.stdout).filter((line) => line.message_type === "status");
    expect(statuses.at(-1)).toMatchObject({ phase: "done", filesDone: 2, filesTotal: 2 });

    const second = await runAgent(["backup", "--json", "--exclude", "*.tmp", source], env);
    expect(jsonLines(second.stdout).at(-1)).toMatchObject({ files_unmodified: 2, data_blobs: 0 });

    const snapshots = JSON.parse((await runAgent(["snapshots", "--json"], env)).stdout);
    expect(snapshots.map((snapshot: { id: string }) => snapshot.id)).toHaveLength(2);
    expect(snapshots[0]).toMatchObject({ id: summary.snapshot_id, paths: [source], tags: ["cli"] });
    const table = await runAgent(["snapshots"], env);
    expect(table.stdout).toContain(String(summary.snapshot_id).slice(0, 8));
    expect(table.stdout).toContain("2 snapshots");

    const listed = await runAgent(["ls", String(summary.snapshot_id).slice(0, 8), source], env);
    expect(listed.stdout.trim().split("\n")).toEqual(
      [
        `${source}/`,
        `${source}/data.bin`,
        `${source}/docs/`,
        `${source}/docs/empty/`,
        `${source}/docs/report.txt`,
        `${source}/latest-report`,
      ].sort(),
    );

    const target = join(dir, `restored-${label.replace(/ /g, "-")}`);
    const restored = await runAgent(["restore", "latest", "--target", target], env);
    expect(restored.stderr).toBe("");
    expect(restored.status).toBe(0);
    const expected = (await listFolder(source)).filter((entry) => !entry.path.endsWith(".tmp"));
    expectSameListing(await listFolder(join(target, source)), expected);

    const restic = await run("restic", ["--no-cache", "-r", repo, "check", "--read-data"], {
      env: { ...process.env, ...storageEnv, RESTIC_PASSWORD: "cli password", AWS_CA_BUNDLE: "" },
    });
    expect(restic.stdout).toContain("no errors were found");
  });

  it("says what is wrong in one line and exits 1", async () => {
    const repo = join(dir, "local-repo");
    const cases: [string[], Record<string, string | undefined>, RegExp][] = [
      [
        ["snapshots"],
        { E3_REPOSITORY: repo, E3_PASSWORD: "wrong" },
        /no key of .* opens with this password \[WRONG_PASSWORD\]/,
      ],
      [["snapshots"], { E3_REPOSITORY: join(dir, "nothing-here"), E3_PASSWORD: "x" }, /is not a repository.*'init'/],
      [["snapshots"], { E3_REPOSITORY: repo, E3_PASSWORD: undefined }, /set E3_PASSWORD or pass --password-file/],
      [["snapshots"], { E3_REPOSITORY: undefined, E3_PASSWORD: "x" }, /pass --repo R or set E3_REPOSITORY/],
      [
        ["backup", "--frobnicate", "/tmp"],
        { E3_REPOSITORY: repo, E3_PASSWORD: "x" },
        /--frobnicate.*see 'e3-backup-agent backup --help'/,
      ],
      [
        ["backup", "--compression", "best", "/tmp"],
        { E3_REPOSITORY: repo, E3_PASSWORD: "x" },
        /--compression must be auto, off or max/,
      ],
      [["ls", "0000ffff"], { E3_REPOSITORY: repo, E3_PASSWORD: "cli password" }, /no snapshot 0000ffff/],
      [["explode"], {}, /unknown command "explode"/],
    ];
    for (const [args, env, message] of cases) {
      const result = await runAgent(args, env);
      expect(result.status, args.join(" ")).toBe(1);
      expect(result.stderr, args.join(" ")).toMatch(message);
    }
  });

  it("exits 3 when some files cannot be read, and still saves the snapshot", async () => {
    // Run as an unprivileged user, so permissions apply (the test itself may run as root).
    const { source, env } = await unreadableFixture(dir, "partly-unreadable");
    const result = await runAgent(["backup", "--json", source], env, { uid: nobody });
    expect(result.status).toBe(3);
    const lines = jsonLines(result.stdout);
    expect(lines.find((line) => line.message_type === "error")).toMatchObject({
      item: join(source, "secret.txt"),
      error: { message: "permission denied" },
    });
    expect(lines.at(-1)).toMatchObject({ message_type: "summary", files_new: 1, errors: 1 });
    const listed = await runAgent(["ls", "latest", source], env, { uid: nobody });
    expect(listed.stdout).toContain("readable.txt");
    expect(listed.stdout).not.toContain("secret.txt");
  });
});
