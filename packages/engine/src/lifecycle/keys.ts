import type { ScryptParameters } from "../crypto/kdf.ts";
import { keyToJson } from "../crypto/key.ts";
import { EngineError, isEngineError } from "../errors.ts";
import { createKeyFile, openKeyFile, parseKeyFile } from "../repository/keys.ts";
import { withLock } from "../repository/lock.ts";
import type { Repository } from "../repository/repository.ts";
import { isStorageError } from "../storage/errors.ts";

// Passwords of a repository (restic's `key list|add|remove|passwd`): every password is a key file wrapping the same
// master key (engine-reference §1.4), so adding one (a customer-held recovery passphrase) never touches the data,
// and removing one only stops that password from opening it. The key that opened the repository is never removed:
// that keeps at least one working password, and keeps the caller able to finish what it is doing.

export type KeyListing = {
  id: string;
  /** RFC3339Nano, as the key file says. */
  created: string;
  username: string;
  hostname: string;
  /** The key the repository was opened with. */
  current: boolean;
};

export type NewKeyOptions = {
  /** Recorded in the key file; the OS user and host by default, as restic does. */
  username?: string;
  hostname?: string;
  /** restic's defaults unless given (tests use cheap ones). */
  scrypt?: ScryptParameters;
  signal?: AbortSignal;
};

function currentKeyId(repository: Repository): string {
  if (!repository.keyId) {
    // Without it we cannot tell which key must stay; openRepository and initRepository always set it.
    throw new EngineError(
      "INVALID_ARGUMENT",
      "the repository was opened without recording its key; open it with openRepository before managing keys",
    );
  }
  return repository.keyId;
}

function assertPassword(password: string): void {
  if (!password) throw new EngineError("WRONG_PASSWORD", "a key needs a non-empty password");
}

/** Every key, oldest first; damaged key files are left out, as restic's key list does. */
export async function listKeys(repository: Repository, options: { signal?: AbortSignal } = {}): Promise<KeyListing[]> {
  // No lock: key files are written once and never changed, and one removed meanwhile is simply not listed.
  const keys: KeyListing[] = [];
  for await (const { name } of repository.storage.list("key", options)) {
    try {
      const info = parseKeyFile(await repository.storage.load({ type: "key", name }, options));
      keys.push({
        id: name,
        created: info.created,
        username: info.username,
        hostname: info.hostname,
        current: name === repository.keyId,
      });
    } catch (error) {
      if (isStorageError(error, "NOT_FOUND") || isEngineError(error, "INVALID_KEY_FILE")) continue;
      throw error;
    }
  }
  return keys.sort((a, b) => Date.parse(a.created) - Date.parse(b.created) || (a.id < b.id ? -1 : 1));
}

/** Writes a key file for `password` and proves it opens to this repository's master key, or removes it again. */
async function saveVerifiedKey(repository: Repository, password: string, options: NewKeyOptions): Promise<string> {
  assertPassword(password);
  const keyFile = await createKeyFile(repository.key, password, {
    ...(options.scrypt ? { parameters: options.scrypt } : {}),
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
  });
  const handle = { type: "key", name: keyFile.id } as const;
  await repository.storage.save(handle, keyFile.bytes, options);
  // A key that does not open would look like a second password and be none (restic checks the same way).
  try {
    const reopened = await openKeyFile(await repository.storage.load(handle, options), password);
    if (keyToJson(reopened) !== keyToJson(repository.key)) throw new Error("it holds another master key");
  } catch (error) {
    await repository.storage.remove(handle).catch(() => {});
    throw new EngineError("INVALID_KEY_FILE", `the new key ${keyFile.id} did not open after saving; it was removed`, {
      cause: error,
    });
  }
  return keyFile.id;
}

/** Adds a password (a key for the same master key); returns the new key's id. Takes a shared lock, as restic. */
export async function addKey(repository: Repository, password: string, options: NewKeyOptions = {}): Promise<string> {
  return withLock(repository, { exclusive: false, signal: options.signal }, () =>
    saveVerifiedKey(repository, password, options),
  );
}

async function resolveKeyId(repository: Repository, reference: string, signal?: AbortSignal): Promise<string> {
  if (!/^[0-9a-f]{1,64}$/.test(reference)) {
    throw new EngineError("KEY_NOT_FOUND", `${JSON.stringify(reference)} is not a key id; list them with 'key list'`);
  }
  const matches: string[] = [];
  for await (const { name } of repository.storage.list("key", { signal })) {
    if (name.startsWith(reference)) matches.push(name);
  }
  if (matches.length === 1) return matches[0]!;
  throw new EngineError(
    "KEY_NOT_FOUND",
    matches.length === 0
      ? `no key ${reference}; list them with 'key list'`
      : `${reference} is the start of ${matches.length} key ids; give more characters`,
  );
}

/**
 * Removes a key by id or unique prefix; returns its full id. Never the key the repository was opened with
 * (KEY_IN_USE), which also means never the last one. Takes an exclusive lock, as restic.
 */
export async function removeKey(
  repository: Repository,
  reference: string,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  const current = currentKeyId(repository);
  return withLock(repository, { exclusive: true, signal: options.signal }, async () => {
    const id = await resolveKeyId(repository, reference, options.signal);
    if (id === current) {
      throw new EngineError(
        "KEY_IN_USE",
        `key ${id.slice(0, 8)} is the one this password opened, so it stays; to replace this password use 'key passwd', ` +
          "or open the repository with another password to remove this key",
      );
    }
    await repository.storage.remove({ type: "key", name: id }, options);
    return id;
  });
}

/**
 * Changes the password the repository was opened with: adds a key for `newPassword`, proves it opens, then removes
 * the old one (in that order, so a failure never leaves the repository without this user's key). Returns the
 * repository as opened by the new key.
 */
export async function changePassword(
  repository: Repository,
  newPassword: string,
  options: NewKeyOptions = {},
): Promise<Repository> {
  const current = currentKeyId(repository);
  return withLock(repository, { exclusive: true, signal: options.signal }, async () => {
    const keyId = await saveVerifiedKey(repository, newPassword, options);
    await repository.storage.remove({ type: "key", name: current }, options);
    return { ...repository, keyId };
  });
}
