import { execFile } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { generateKey, keyToJson } from "../crypto/key.ts";
import { open } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";
import { decodeConfig } from "./config.ts";
import { createKeyFile, keyFileId, openKeyFile, parseKeyFile } from "./keys.ts";

const fast = { N: 1024, r: 8, p: 1 };
const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-keys-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => (error instanceof EngineError ? error.code : String(error)),
  );

describe("key files", () => {
  it("are JSON in Go's field order, named by the SHA-256 of their bytes", async () => {
    const master = generateKey();
    const { id, bytes } = await createKeyFile(master, "pw", {
      parameters: fast,
      created: 1_700_000_000_123_456_789n,
      zone: "utc",
      username: "ünï<x>",
      hostname: "host",
      salt: Buffer.alloc(64, 9),
    });
    const text = bytes.toString();
    expect(Object.keys(JSON.parse(text))).toEqual([
      "created",
      "username",
      "hostname",
      "kdf",
      "N",
      "r",
      "p",
      "salt",
      "data",
    ]);
    expect(text).toMatch(
      /^\{"created":"2023-11-14T22:13:20\.123456789Z","username":"ünï\\u003cx\\u003e","hostname":"host","kdf":"scrypt","N":1024,"r":8,"p":1,"salt":"CQkJ[^"]*==","data":"[A-Za-z0-9+/=]+"\}$/,
    );
    expect(id).toBe(keyFileId(bytes));
    const info = parseKeyFile(bytes);
    expect(info.salt).toEqual(Buffer.alloc(64, 9));
    expect(info.data.length).toBe(keyToJson(master).length + 32);
    expect(await openKeyFile(bytes, "pw")).toEqual(master);
  });

  it("say WRONG_PASSWORD for a wrong password and INVALID_KEY_FILE for damage", async () => {
    const { bytes } = await createKeyFile(generateKey(), "right", { parameters: fast });
    expect(await codeOf(openKeyFile(bytes, "wrong"))).toBe("WRONG_PASSWORD");
    const json = JSON.parse(bytes.toString()) as Record<string, unknown>;
    for (const damaged of [
      "{",
      "[]",
      JSON.stringify({ ...json, kdf: "argon2" }),
      JSON.stringify({ ...json, N: 1000 }),
      JSON.stringify({ ...json, salt: "***" }),
      JSON.stringify({ ...json, data: Buffer.alloc(10).toString("base64") }),
    ]) {
      expect(await codeOf(openKeyFile(Buffer.from(damaged), "right")), damaged).toBe("INVALID_KEY_FILE");
    }
  });

  it("open restic's key file and config, and restic opens ours (the crypto proven both ways)", async () => {
    const repo = join(dir, "repo");
    const env = { ...process.env, RESTIC_PASSWORD: "restic's password" };
    await run("restic", ["--no-cache", "-r", repo, "init"], { env });
    const [name] = await readdir(join(repo, "keys"));
    const resticKey = await readFile(join(repo, "keys", name!));
    expect(keyFileId(resticKey)).toBe(name);
    expect(parseKeyFile(resticKey).salt.length).toBe(64);
    const master = await openKeyFile(resticKey, "restic's password");
    expect(await codeOf(openKeyFile(resticKey, "not it"))).toBe("WRONG_PASSWORD");
    const config = decodeConfig(master, await readFile(join(repo, "config")));
    expect(config.version).toBe(2);

    // A second key file of ours, for another password, wrapping restic's master key.
    const ours = await createKeyFile(master, "our password", { parameters: { N: 16_384, r: 8, p: 1 } });
    await writeFile(join(repo, "keys", ours.id), ours.bytes);
    await chmod(join(repo, "keys", ours.id), 0o400);
    const { stdout } = await run("restic", ["--no-cache", "-r", repo, "cat", "config"], {
      env: { ...process.env, RESTIC_PASSWORD: "our password" },
    });
    expect(JSON.parse(stdout)).toEqual({
      version: 2,
      id: config.id,
      chunker_polynomial: config.chunkerPolynomial.toString(16),
    });
    const listed = JSON.parse(
      (await run("restic", ["--no-cache", "-r", repo, "key", "list", "--json"], { env })).stdout,
    ) as { id: string }[];
    // restic lists short ids.
    expect(listed.map((key) => key.id).sort()).toEqual([name!.slice(0, 8), ours.id.slice(0, 8)].sort());
    // And the master key restic stored is what our key file holds.
    expect(open(master, await readFile(join(repo, "config"))).toString()).toContain('"version":2');
  });
});
