import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { randomPolynomial } from "../chunker/polynomial.ts";
import { defaultScrypt, deriveUserKey, type ScryptParameters } from "../crypto/kdf.ts";
import { type CryptoKey, seal } from "../crypto/seal.ts";

// Creating a repository: a random master key, a key file wrapping it for the password, and the config with a
// random chunker polynomial (engine-reference §1.4-1.5, §1.14). Local folders get restic's layout up front.

export function newMasterKey(): CryptoKey {
  return { encrypt: randomBytes(32), macK: randomBytes(16), macR: randomBytes(16) };
}

/** A key file (JSON fields in Go's struct order) and its storage id, the SHA-256 of exactly those bytes. */
export async function createKeyFile(
  master: CryptoKey,
  password: string,
  parameters: ScryptParameters = defaultScrypt,
): Promise<{ id: string; bytes: Buffer }> {
  const salt = randomBytes(64);
  const userKey = await deriveUserKey(password, salt, parameters);
  const masterJson = JSON.stringify({
    mac: { k: master.macK.toString("base64"), r: master.macR.toString("base64") },
    encrypt: master.encrypt.toString("base64"),
  });
  const bytes = Buffer.from(
    JSON.stringify({
      created: new Date().toISOString(),
      username: userInfo().username,
      hostname: hostname(),
      kdf: "scrypt",
      N: parameters.N,
      r: parameters.r,
      p: parameters.p,
      salt: salt.toString("base64"),
      data: seal(userKey, Buffer.from(masterJson)).toString("base64"),
    }),
  );
  return { id: createHash("sha256").update(bytes).digest("hex"), bytes };
}

/** The sealed config file; never compressed, so every restic version can read it. */
export function encodeConfig(master: CryptoKey, config: { id: string; chunkerPolynomial: bigint }): Buffer {
  return seal(
    master,
    Buffer.from(
      JSON.stringify({ version: 2, id: config.id, chunker_polynomial: config.chunkerPolynomial.toString(16) }),
    ),
  );
}

/** Initialises a repository in a local folder (restic's layout) and returns its master key and config. */
export async function initLocalRepository(
  path: string,
  password: string,
  parameters: ScryptParameters = defaultScrypt,
) {
  const master = newMasterKey();
  const config = { id: randomBytes(32).toString("hex"), chunkerPolynomial: randomPolynomial() };
  const keyFile = await createKeyFile(master, password, parameters);
  for (const folder of ["keys", "snapshots", "index", "locks"]) await mkdir(join(path, folder), { recursive: true });
  for (let i = 0; i < 256; i++) await mkdir(join(path, "data", i.toString(16).padStart(2, "0")), { recursive: true });
  // Write-once files, readable by their owner only, as restic writes them.
  await writeFile(join(path, "keys", keyFile.id), keyFile.bytes, { mode: 0o400, flag: "wx" });
  await writeFile(join(path, "config"), encodeConfig(master, config), { mode: 0o400, flag: "wx" });
  return { master, config };
}
