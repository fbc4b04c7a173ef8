import type { ScryptParameters } from "../crypto/kdf.ts";
import type { CryptoKey } from "../crypto/key.ts";
import { generateKey } from "../crypto/key.ts";
import { EngineError, isEngineError } from "../errors.ts";
import { configHandle, type SignalOptions, type StorageBackend } from "../storage/backend.ts";
import { isStorageError } from "../storage/errors.ts";
import { createLocalLayout, LocalBackend } from "../storage/local.ts";
import { decodeConfig, encodeConfig, newConfig, type RepositoryConfig } from "./config.ts";
import { createKeyFile, openKeyFile } from "./keys.ts";

// A repository is a storage, the master key one of its key files opens, and its config (engine-reference §1.4-1.5).
// Creating one writes the key file first and the config last: a folder without a config is not a repository yet,
// never a half-made one.

export type Repository = {
  storage: StorageBackend;
  key: CryptoKey;
  config: RepositoryConfig;
  /** The key file the password opened (set by openRepository and initRepository): the key that cannot be removed. */
  keyId?: string;
};

/** Initialises a repository in an empty storage: a random master key, a key file for `password`, the config. */
export async function initRepository(
  storage: StorageBackend,
  password: string,
  options: { scrypt?: ScryptParameters } = {},
): Promise<Repository> {
  if (!password) throw new EngineError("WRONG_PASSWORD", "a repository needs a non-empty password");
  const existing = await storage.stat(configHandle).catch((error: unknown) => {
    if (isStorageError(error, "NOT_FOUND")) return null;
    throw error;
  });
  if (existing) {
    throw new EngineError("REPOSITORY_EXISTS", `${storage.location()} already holds a repository (it has a config)`);
  }
  const key = generateKey();
  const config = newConfig();
  const keyFile = await createKeyFile(key, password, options.scrypt ? { parameters: options.scrypt } : {});
  await storage.save({ type: "key", name: keyFile.id }, keyFile.bytes);
  await storage.save(configHandle, encodeConfig(key, config));
  return { storage, key, config, keyId: keyFile.id };
}

/** A repository in a local folder, with restic's folder layout. */
export async function initLocalRepository(
  path: string,
  password: string,
  options: { scrypt?: ScryptParameters } = {},
): Promise<Repository> {
  await createLocalLayout(path);
  return initRepository(new LocalBackend(path), password, options);
}

/**
 * Opens a repository with a password: tries every key file as restic does (a key the password does not open is
 * skipped), then reads the config. NOT_A_REPOSITORY when there is no config, WRONG_PASSWORD when no key opens.
 */
export async function openRepository(
  storage: StorageBackend,
  password: string,
  options: SignalOptions = {},
): Promise<Repository> {
  const sealedConfig = await storage.load(configHandle, options).catch((error: unknown) => {
    if (isStorageError(error, "NOT_FOUND")) {
      throw new EngineError(
        "NOT_A_REPOSITORY",
        `${storage.location()} is not a repository (no config file); create one with 'init'`,
      );
    }
    throw error;
  });
  let damagedKeys = 0;
  for await (const { name } of storage.list("key", options)) {
    const keyFile = await storage.load({ type: "key", name }, options);
    try {
      const key = await openKeyFile(keyFile, password);
      return { storage, key, config: decodeConfig(key, sealedConfig), keyId: name };
    } catch (error) {
      if (isEngineError(error, "WRONG_PASSWORD")) continue;
      if (isEngineError(error, "INVALID_KEY_FILE")) {
        damagedKeys += 1;
        continue;
      }
      throw error;
    }
  }
  throw new EngineError(
    "WRONG_PASSWORD",
    `no key of ${storage.location()} opens with this password${damagedKeys ? ` (${damagedKeys} key files are damaged)` : ""}`,
  );
}
