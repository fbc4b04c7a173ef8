import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { isEngineError } from "../src/errors.ts";
import { addKey, changePassword, listKeys, removeKey } from "../src/lifecycle/keys.ts";
import { initLocalRepository, openRepository } from "../src/repository/repository.ts";
import { LocalBackend } from "../src/storage/local.ts";

// Keys we add open the repository for restic and show in its key list; keys restic adds open it for us; the key in
// use (and so the last one) is never removed; passwd leaves only the new password working, for both tools.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-keys-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const fastScrypt = { N: 1024, r: 8, p: 1 };

function restic(repo: string, password: string, ...args: string[]) {
  return run("restic", ["--no-cache", "-r", repo, ...args], { env: { ...process.env, RESTIC_PASSWORD: password } });
}
const opens = (repo: string, password: string) =>
  restic(repo, password, "cat", "config").then(
    () => true,
    (error: { stderr: string }) => (/wrong password/.test(error.stderr) ? false : Promise.reject(error)),
  );
const keyFiles = async (repo: string) => (await readdir(join(repo, "keys"))).sort();
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

type ResticKey = { current: boolean; id: string; userName: string; hostName: string };

describe("keys", () => {
  it("interoperate with restic's key command", async () => {
    const repo = join(dir, "repo");
    const created = await initLocalRepository(repo, "first password", { scrypt: fastScrypt });
    const repository = await openRepository(new LocalBackend(repo), "first password");
    expect(repository.keyId).toBe(created.keyId);
    expect(await keyFiles(repo)).toEqual([repository.keyId]);

    // A recovery passphrase we add opens the repository for restic, which lists it beside the first.
    const recovery = await addKey(repository, "customer recovery phrase", {
      scrypt: fastScrypt,
      username: "customer",
      hostname: "vault",
    });
    expect(await opens(repo, "customer recovery phrase")).toBe(true);
    const listed = JSON.parse((await restic(repo, "first password", "key", "list", "--json")).stdout) as ResticKey[];
    expect(
      listed
        .map(({ current, id, userName, hostName }) => ({ current, id, userName, hostName }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
    ).toEqual(
      [
        {
          current: true,
          id: repository.keyId!.slice(0, 8),
          userName: expect.any(String),
          hostName: expect.any(String),
        },
        { current: false, id: recovery.slice(0, 8), userName: "customer", hostName: "vault" },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    const ours = await listKeys(repository);
    expect(ours.map((key) => [key.id, key.current])).toEqual([
      [repository.keyId, true],
      [recovery, false],
    ]);
    expect(ours[1]).toMatchObject({ username: "customer", hostname: "vault" });

    // The key in use stays, whoever asks and by whatever prefix; unknown and malformed ids are named.
    for (const reference of [repository.keyId!, repository.keyId!.slice(0, 6)]) {
      const refused = await refusal(removeKey(repository, reference));
      expect(isEngineError(refused, "KEY_IN_USE")).toBe(true);
    }
    expect(isEngineError(await refusal(removeKey(repository, "ffffffffffff")), "KEY_NOT_FOUND")).toBe(
      !recovery.startsWith("ffffffffffff") && !repository.keyId!.startsWith("ffffffffffff"),
    );
    expect(((await refusal(removeKey(repository, "../config"))) as Error).message).toMatch(/not a key id/);
    expect(await keyFiles(repo)).toEqual([repository.keyId, recovery].sort());

    // A key restic adds opens the repository for us, with its id as the current one.
    const newPasswordFile = join(dir, "restic-password");
    await writeFile(newPasswordFile, "added by restic\n");
    await restic(repo, "first password", "key", "add", "--new-password-file", newPasswordFile);
    const resticKey = (await keyFiles(repo)).find((id) => id !== repository.keyId && id !== recovery)!;
    const viaRestic = await openRepository(new LocalBackend(repo), "added by restic");
    expect(viaRestic.keyId).toBe(resticKey);
    expect(viaRestic.config).toEqual(repository.config);

    // From there, the recovery key can go (by prefix): restic no longer opens with it.
    expect(await removeKey(viaRestic, recovery.slice(0, 10))).toBe(recovery);
    expect(await opens(repo, "customer recovery phrase")).toBe(false);

    // passwd: the new password works for both tools, the old one for neither; the other keys are untouched.
    const changed = await changePassword(repository, "second password", { scrypt: fastScrypt });
    expect(changed.keyId).not.toBe(repository.keyId);
    expect(await keyFiles(repo)).toEqual([changed.keyId, resticKey].sort());
    expect(await opens(repo, "second password")).toBe(true);
    expect(await opens(repo, "first password")).toBe(false);
    expect(await opens(repo, "added by restic")).toBe(true);
    expect((await openRepository(new LocalBackend(repo), "second password")).keyId).toBe(changed.keyId);
    const afterPasswd = JSON.parse(
      (await restic(repo, "second password", "key", "list", "--json")).stdout,
    ) as ResticKey[];
    expect(afterPasswd.find((key) => key.current)?.id).toBe(changed.keyId!.slice(0, 8));

    expect((await restic(repo, "second password", "list", "locks")).stdout).toBe("");
    expect((await restic(repo, "second password", "check")).stdout).toContain("no errors were found");
  });

  it("never removes the last key, and refuses an empty password", async () => {
    const repo = join(dir, "single");
    const repository = await initLocalRepository(repo, "only password", { scrypt: fastScrypt });
    const refused = await refusal(removeKey(repository, repository.keyId!));
    expect(isEngineError(refused, "KEY_IN_USE")).toBe(true);
    expect(isEngineError(await refusal(addKey(repository, "")), "WRONG_PASSWORD")).toBe(true);
    expect(await keyFiles(repo)).toEqual([repository.keyId]);
    expect(await opens(repo, "only password")).toBe(true);
  });
});
