import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { decodeTree, encodeTree } from "../src/tree/tree-json.ts";

// Golden comparison with restic 0.14: every tree blob restic writes for a tree with awkward names, decoded by us
// and encoded again, gives exactly restic's bytes and therefore restic's tree id.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-tree-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("tree blobs against restic", () => {
  it("re-encodes restic's trees byte for byte", async () => {
    const source = join(dir, "source");
    const names = [
      "plain.txt",
      'quote"d',
      "a<b>&c",
      "spaced name",
      "ünïcödé",
      "emoji-\u{1F600}",
      "\uE000-private",
      "tab\tname",
    ];
    await mkdir(join(source, "nested", "empty"), { recursive: true });
    for (const name of names) await writeFile(join(source, name), name);
    await writeFile(join(source, "nested", "zero"), "");
    await symlink("../plain.txt", join(source, "nested", "link"));

    const repo = join(dir, "repo");
    const env = { ...process.env, RESTIC_PASSWORD: "tree golden" };
    const restic = (...args: string[]) =>
      run("restic", ["--no-cache", "-r", repo, ...args], { env, encoding: "buffer", maxBuffer: 16 * 1024 * 1024 });
    await restic("init");
    await restic("backup", source);
    const [snapshot] = JSON.parse((await restic("snapshots", "--json")).stdout.toString()) as { tree: string }[];

    const pending = [snapshot!.tree];
    let trees = 0;
    while (pending.length > 0) {
      const id = pending.pop()!;
      const original = (await restic("cat", "blob", id)).stdout;
      const nodes = decodeTree(original);
      const encoded = encodeTree(nodes);
      expect(encoded.bytes.toString(), `tree ${id}`).toBe(original.toString());
      expect(encoded.id).toBe(id);
      for (const node of nodes) if (node.subtree) pending.push(node.subtree);
      trees += 1;
    }
    expect(trees).toBeGreaterThan(3);
  });
});
