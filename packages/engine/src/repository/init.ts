import { createHash, randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { randomPolynomial } from "../chunker/polynomial.ts";
import { defaultScrypt, deriveUserKey, type ScryptParameters } from "../crypto/kdf.ts";
import { type CryptoKey, seal } from "../crypto/seal.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { createLocalLayout, LocalBackend } from "../storage/local.ts";

// Creating a repository: a random master key, a key file wrapping it for the password, and the config with a
// random chunker polynomial (engine-reference §1.4-1.5, §1.14).

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

/** Initialises a repository: the key file for `password` and the config. Returns its master key and config. */
export async function initRepository(
  storage: StorageBackend,
  password: string,
  parameters: ScryptParameters = defaultScrypt,
) {
  const master = newMasterKey();
  const config = { id: randomBytes(32).toString("hex"), chunkerPolynomial: randomPolynomial() };
  const keyFile = await createKeyFile(master, password, parameters);
  // The config goes last: a repository without one is not a repository yet, never a half-made one.
  await storage.save({ type: "key", name: keyFile.id }, keyFile.bytes);
  await storage.save({ type: "config", name: "config" }, encodeConfig(master, config));
  return { master, config };
}

/** A repository in a local folder, with restic's folder layout. */
export async function initLocalRepository(
  path: string,
  password: string,
  parameters: ScryptParameters = defaultScrypt,
) {
  await createLocalLayout(path);
  return initRepository(new LocalBackend(path), password, parameters);
}
