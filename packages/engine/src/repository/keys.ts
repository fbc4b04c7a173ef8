import { createHash, randomBytes } from "node:crypto";
import { hostname as osHostname, userInfo } from "node:os";
import { assertScryptParameters, defaultScrypt, deriveUserKey, type ScryptParameters } from "../crypto/kdf.ts";
import { type CryptoKey, decodeBase64, keyFromJson, keyToJson } from "../crypto/key.ts";
import { open, seal } from "../crypto/seal.ts";
import { EngineError, isEngineError } from "../errors.ts";
import { goJsonString } from "../tree/go-json.ts";
import { formatGoTime, nowNanoseconds, type TimeZone } from "../tree/go-time.ts";

// Key files (keys/<id>, engine-reference §1.4): plain JSON, never encrypted or compressed, whose `data` is the master
// key sealed with a user key that scrypt derives from the password. Every password of a repository is one key file
// wrapping the same master key. The file's name is the SHA-256 of its exact bytes, which restic verifies on load.

/** A key file's metadata as stored (restic's repository.Key without the sealed data). */
export type KeyFileInfo = {
  /** RFC3339Nano, as Go writes time.Now(). */
  created: string;
  username: string;
  hostname: string;
  kdf: "scrypt";
  parameters: ScryptParameters;
  salt: Buffer;
  /** IV || ciphertext || MAC of the master key's JSON. */
  data: Buffer;
};

export type KeyFileOptions = {
  parameters?: ScryptParameters;
  /** Creation time in nanoseconds since the epoch; now by default. */
  created?: bigint;
  zone?: TimeZone;
  /** The OS user and host by default, as restic does. */
  username?: string;
  hostname?: string;
  /** 64 random bytes by default (restic's crypto.NewSalt); fixed only in tests. */
  salt?: Buffer;
};

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function currentUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return ""; // restic leaves it empty when the user cannot be looked up
  }
}

/**
 * Seals `master` for `password` into a key file: JSON with Go's struct field order (created, username, hostname,
 * kdf, N, r, p, salt, data), no whitespace, []byte fields as standard base64. Returns its bytes and id.
 */
export async function createKeyFile(
  master: CryptoKey,
  password: string | Uint8Array,
  options: KeyFileOptions | ScryptParameters = {},
): Promise<{ id: string; bytes: Buffer }> {
  // The third argument used to be the scrypt parameters alone; both forms are accepted.
  const settings: KeyFileOptions = "N" in options ? { parameters: options } : options;
  const parameters = settings.parameters ?? defaultScrypt;
  assertScryptParameters(parameters);
  const salt = settings.salt ?? randomBytes(64);
  const userKey = await deriveUserKey(password, salt, parameters);
  const created = formatGoTime(settings.created ?? nowNanoseconds(), settings.zone ?? "local");
  const json =
    `{"created":${goJsonString(created)},` +
    `"username":${goJsonString(settings.username ?? currentUsername())},` +
    `"hostname":${goJsonString(settings.hostname ?? osHostname())},` +
    `"kdf":"scrypt","N":${parameters.N},"r":${parameters.r},"p":${parameters.p},` +
    `"salt":"${salt.toString("base64")}",` +
    `"data":"${seal(userKey, Buffer.from(keyToJson(master))).toString("base64")}"}`;
  const bytes = Buffer.from(json);
  return { id: sha256(bytes), bytes };
}

/** Parses a key file without opening it (listing keys, showing who created them); INVALID_KEY_FILE if malformed. */
export function parseKeyFile(bytes: Uint8Array): KeyFileInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw new EngineError("INVALID_KEY_FILE", "the key file is not JSON", { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new EngineError("INVALID_KEY_FILE", "the key file is not a JSON object");
  }
  const raw = parsed as Record<string, unknown>;
  const problem = (what: string) =>
    new EngineError("INVALID_KEY_FILE", `the key file's ${what}; it may be damaged or not a restic key file`);
  if (raw.kdf !== "scrypt") throw problem(`kdf is ${JSON.stringify(raw.kdf)}, only "scrypt" is known`);
  const { N, r, p } = raw;
  if (typeof N !== "number" || typeof r !== "number" || typeof p !== "number") throw problem("N, r or p is missing");
  const parameters = { N, r, p };
  assertScryptParameters(parameters);
  const salt = decodeBase64(raw.salt);
  const data = decodeBase64(raw.data);
  if (!salt || salt.length === 0) throw problem("salt is not base64");
  if (!data) throw problem("data is not base64");
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  return {
    created: text(raw.created),
    username: text(raw.username),
    hostname: text(raw.hostname),
    kdf: "scrypt",
    parameters,
    salt,
    data,
  };
}

/** The repository's master key from one key file and a password; WRONG_PASSWORD when the password does not fit. */
export async function openKeyFile(keyFile: Uint8Array, password: string | Uint8Array): Promise<CryptoKey> {
  const info = parseKeyFile(keyFile);
  const userKey = await deriveUserKey(password, info.salt, info.parameters);
  let plaintext: Buffer;
  try {
    plaintext = open(userKey, info.data, "key file");
  } catch (error) {
    // restic treats a failed MAC on a key file as "wrong password, try the next key" (ErrUnauthenticated).
    if (isEngineError(error, "MAC_MISMATCH")) {
      throw new EngineError("WRONG_PASSWORD", "the password does not open this key; check the repository password");
    }
    throw new EngineError("INVALID_KEY_FILE", "the key file's data is not encrypted data", { cause: error });
  }
  try {
    return keyFromJson(plaintext);
  } catch (error) {
    throw new EngineError("INVALID_KEY_FILE", "the key file opened but does not hold a valid master key", {
      cause: error,
    });
  }
}

/** Same as openKeyFile (the name the rest of the engine already uses). */
export const openMasterKey = openKeyFile;

/** A key file's storage id: SHA-256 of its exact bytes. */
export function keyFileId(bytes: Uint8Array): string {
  return sha256(bytes);
}
