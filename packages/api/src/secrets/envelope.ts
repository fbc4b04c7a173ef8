import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

// Secrets at rest (S3 keys, repository passwords, webhook secrets): AES-256-GCM envelopes under a server key.
// Format: "e3s1.<key id>.<base64url(iv 12 | ciphertext | tag 16)>". The key id names which server key sealed it, so
// keys rotate without a flag day: new secrets use the current key, old ones open with any retired key still
// configured, and `rewrap` moves them to the current key. The column name is bound as associated data, so a
// ciphertext copied into another column (say a password into an access-key column) fails to open.

const version = "e3s1";
const ivLength = 12;
const tagLength = 16;

export type ServerKey = { id: string; key: Buffer };
export type Keyring = { current: ServerKey; retired: ServerKey[] };

export class SecretError extends Error {
  readonly code: "SECRET_KEY_INVALID" | "SECRET_KEY_UNKNOWN" | "SECRET_CORRUPT";
  constructor(code: SecretError["code"], message: string) {
    super(message);
    this.name = "SecretError";
    this.code = code;
  }
}

/** A key id derived from the key itself, so operators need not name keys and two keys never share an id. */
function keyIdOf(key: Buffer): string {
  return createHash("sha256").update("e3 server key id").update(key).digest("base64url").slice(0, 8);
}

export function parseServerKey(encoded: string, variable: string): ServerKey {
  const key = Buffer.from(encoded.trim(), "base64");
  if (key.length !== 32) {
    throw new SecretError(
      "SECRET_KEY_INVALID",
      `${variable} must be 32 random bytes in base64 (generate one with: openssl rand -base64 32)`,
    );
  }
  return { id: keyIdOf(key), key };
}

/** E3_SECRET_KEY is the current key; E3_SECRET_KEYS_RETIRED lists older ones (comma-separated) kept for reading. */
export function keyringFromEnv(env: NodeJS.ProcessEnv): Keyring {
  const current = env.E3_SECRET_KEY;
  if (!current) {
    throw new SecretError(
      "SECRET_KEY_INVALID",
      "E3_SECRET_KEY is not set; generate one with: openssl rand -base64 32 (npm start creates one in the data folder)",
    );
  }
  const retired = (env.E3_SECRET_KEYS_RETIRED ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry, index) => parseServerKey(entry, `E3_SECRET_KEYS_RETIRED[${index}]`));
  return { current: parseServerKey(current, "E3_SECRET_KEY"), retired };
}

export function sealSecret(keyring: Keyring, plaintext: string, column: string): string {
  const iv = randomBytes(ivLength);
  const cipher = createCipheriv("aes-256-gcm", keyring.current.key, iv);
  cipher.setAAD(Buffer.from(column));
  const body = Buffer.concat([iv, cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${version}.${keyring.current.id}.${body.toString("base64url")}`;
}

export function openSecret(keyring: Keyring, envelope: string, column: string): string {
  const [prefix, keyId, encoded, ...rest] = envelope.split(".");
  if (prefix !== version || !keyId || !encoded || rest.length > 0) {
    throw new SecretError("SECRET_CORRUPT", `the stored ${column} is not an e3 secret envelope`);
  }
  const serverKey = [keyring.current, ...keyring.retired].find((candidate) => candidate.id === keyId);
  if (!serverKey) {
    throw new SecretError(
      "SECRET_KEY_UNKNOWN",
      `the stored ${column} was sealed with server key ${keyId}, which is not configured; add it to E3_SECRET_KEYS_RETIRED`,
    );
  }
  const body = Buffer.from(encoded, "base64url");
  if (body.length < ivLength + tagLength) throw new SecretError("SECRET_CORRUPT", `the stored ${column} is truncated`);
  const decipher = createDecipheriv("aes-256-gcm", serverKey.key, body.subarray(0, ivLength));
  decipher.setAAD(Buffer.from(column));
  decipher.setAuthTag(body.subarray(body.length - tagLength));
  try {
    return Buffer.concat([
      decipher.update(body.subarray(ivLength, body.length - tagLength)),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    throw new SecretError("SECRET_CORRUPT", `the stored ${column} failed authentication (tampered or wrong column)`);
  }
}

/** The same secret sealed under the current key; unchanged when it already is. */
export function rewrapSecret(keyring: Keyring, envelope: string, column: string): string {
  if (envelope.split(".")[1] === keyring.current.id) return envelope;
  return sealSecret(keyring, openSecret(keyring, envelope, column), column);
}
