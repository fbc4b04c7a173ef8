import { randomBytes } from "node:crypto";
import { EngineError } from "../errors.ts";

// restic's crypto.Key (engine-reference §1.3): a 32-byte AES-256 key for the data and a Poly1305-AES MAC key made of
// k (16 bytes, AES-128, encrypts the nonce into s) and r (16 bytes, stored unclamped). The repository's master key
// has this shape, and so does the user key scrypt derives from a password (kdf.ts).

export type CryptoKey = {
  /** AES-256-CTR key. */
  encrypt: Buffer;
  /** AES-128 key that turns each IV into Poly1305's s. */
  macK: Buffer;
  /** Poly1305's r, unclamped as restic stores it. */
  macR: Buffer;
};

const sizes = { encrypt: 32, macK: 16, macR: 16 } as const;

/** A fresh random master key (restic's crypto.NewRandomKey). */
export function generateKey(): CryptoKey {
  let key: CryptoKey;
  // An all-zero part would be refused by restic (Key.Valid); with 2^-128 odds, but cheap to rule out.
  do key = { encrypt: randomBytes(32), macK: randomBytes(16), macR: randomBytes(16) };
  while (!isValidKey(key));
  return key;
}

/** restic's Key.Valid: every part has its size and none is all zero. */
export function isValidKey(key: CryptoKey): boolean {
  return (Object.keys(sizes) as (keyof typeof sizes)[]).every(
    (part) => key[part].length === sizes[part] && key[part].some((byte) => byte !== 0),
  );
}

/** Throws INVALID_KEY unless restic would accept the key. */
export function assertValidKey(key: CryptoKey, what = "key"): void {
  for (const part of Object.keys(sizes) as (keyof typeof sizes)[]) {
    if (key[part].length !== sizes[part]) {
      throw new EngineError("INVALID_KEY", `${what}: ${part} must be ${sizes[part]} bytes, not ${key[part].length}`);
    }
    if (key[part].every((byte) => byte === 0)) throw new EngineError("INVALID_KEY", `${what}: ${part} is all zero`);
  }
}

/**
 * The key as Go's encoding/json writes restic's crypto.Key: `{"mac":{"k":…,"r":…},"encrypt":…}`, byte slices as
 * standard base64 with padding. This is the plaintext inside a key file's `data`.
 */
export function keyToJson(key: CryptoKey): string {
  assertValidKey(key);
  const b64 = (bytes: Buffer) => bytes.toString("base64");
  return `{"mac":{"k":"${b64(key.macK)}","r":"${b64(key.macR)}"},"encrypt":"${b64(key.encrypt)}"}`;
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 as Go decodes []byte fields (padding required); null when it is not. */
export function decodeBase64(value: unknown): Buffer | null {
  if (typeof value !== "string" || !base64Pattern.test(value)) return null;
  return Buffer.from(value, "base64");
}

/** Parses the JSON form back; INVALID_KEY when it is not a complete, valid restic key. */
export function keyFromJson(json: string | Uint8Array): CryptoKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof json === "string" ? json : Buffer.from(json).toString("utf8"));
  } catch (error) {
    throw new EngineError("INVALID_KEY", "the key is not JSON", { cause: error });
  }
  const record = (value: unknown): Record<string, unknown> | null =>
    typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  const top = record(parsed);
  const mac = record(top?.mac);
  const encrypt = decodeBase64(top?.encrypt);
  const macK = decodeBase64(mac?.k);
  const macR = decodeBase64(mac?.r);
  if (!encrypt || !macK || !macR) {
    throw new EngineError("INVALID_KEY", 'the key must look like {"mac":{"k":…,"r":…},"encrypt":…} in base64');
  }
  const key = { encrypt, macK, macR };
  assertValidKey(key);
  return key;
}
