import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { jobKeysForNewRepository, jobPassword, keysFolder, newRecoveryPassphrase, readJobKeys } from "./key-store.ts";

const dir = await mkdtemp(join(tmpdir(), "e3-agent-keys-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const jobId = "2f1e0d9c-8b7a-4654-a321-0fedcba98765";
const agentJob = { jobId, repository: { encryptionMode: "agent" as const, password: null } };

describe("the agent's key store", () => {
  it("makes a job's keys once, readable by the agent's account only, and never asks the portal", async () => {
    await expect(jobPassword(dir, agentJob)).rejects.toMatchObject({ code: "AGENT_KEY_MISSING" });
    const keys = await jobKeysForNewRepository(dir, jobId);
    expect(keys.password.length).toBeGreaterThanOrEqual(43);
    expect(keys.recoveryPassphrase).toMatch(/^[A-Z2-9]{5}(-[A-Z2-9]{5}){4}$/);
    expect(await jobKeysForNewRepository(dir, jobId)).toEqual(keys);
    expect(await jobPassword(dir, agentJob)).toBe(keys.password);
    const file = join(keysFolder(dir), `job-${jobId}.json`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(keysFolder(dir))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ jobId, recoveryReportedAt: null });
    // Managed jobs use the portal's password.
    expect(await jobPassword(dir, { jobId, repository: { encryptionMode: "managed", password: "p" } })).toBe("p");
  });

  it("says what to do when a key file is damaged, and makes passphrases that differ", async () => {
    const other = "3f1e0d9c-8b7a-4654-a321-0fedcba98765";
    await jobKeysForNewRepository(dir, other);
    await writeFile(join(keysFolder(dir), `job-${other}.json`), JSON.stringify({ jobId: other }));
    await expect(readJobKeys(dir, other)).rejects.toThrow(/damaged.*recovery passphrase/);
    expect(newRecoveryPassphrase()).not.toBe(newRecoveryPassphrase());
  });
});
