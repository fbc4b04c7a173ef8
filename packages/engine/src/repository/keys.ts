import { z } from "zod";
import { deriveUserKey } from "../crypto/kdf.ts";
import { type CryptoKey, open } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";

// Key files (keys/<id>): plain JSON whose `data` is the master key sealed with a key derived from the password by
// scrypt (64 bytes: 32 encryption, 16 MAC k, 16 MAC r). Every password of a repository is one key file.

const keyFileSchema = z.object({
  created: z.string(),
  username: z.string().optional(),
  hostname: z.string().optional(),
  kdf: z.literal("scrypt"),
  N: z.number().int().positive(),
  r: z.number().int().positive(),
  p: z.number().int().positive(),
  salt: z.base64(),
  data: z.base64(),
});

const masterKeySchema = z.object({
  mac: z.object({ k: z.base64(), r: z.base64() }),
  encrypt: z.base64(),
});

/** The repository's master key from one key file and a password; WRONG_PASSWORD when it does not open. */
export async function openMasterKey(keyFile: Uint8Array, password: string): Promise<CryptoKey> {
  const parsed = keyFileSchema.safeParse(JSON.parse(Buffer.from(keyFile).toString("utf8")));
  if (!parsed.success) throw new EngineError("INVALID_KEY_FILE", `not a restic key file: ${parsed.error.message}`);
  const { N, r, p, salt, data } = parsed.data;
  const userKey = await deriveUserKey(password, Buffer.from(salt, "base64"), { N, r, p });
  let plaintext: Buffer;
  try {
    plaintext = open(userKey, Buffer.from(data, "base64"), "key file");
  } catch {
    throw new EngineError("WRONG_PASSWORD", "the password does not open this repository key");
  }
  const master = masterKeySchema.parse(JSON.parse(plaintext.toString("utf8")));
  return {
    encrypt: Buffer.from(master.encrypt, "base64"),
    macK: Buffer.from(master.mac.k, "base64"),
    macR: Buffer.from(master.mac.r, "base64"),
  };
}
