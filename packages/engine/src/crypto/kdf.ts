import { scrypt } from "node:crypto";
import type { CryptoKey } from "./seal.ts";

export type ScryptParameters = { N: number; r: number; p: number };
/** restic's calibration lands on N = 2^15, r = 8 (32 MiB); p = 1 keeps a derivation near 100 ms here. */
export const defaultScrypt: ScryptParameters = { N: 32_768, r: 8, p: 1 };

/** The user key of a key file: scrypt to 64 bytes, split 32 (AES) / 16 (MAC k) / 16 (MAC r). */
export function deriveUserKey(password: string, salt: Buffer, { N, r, p }: ScryptParameters): Promise<CryptoKey> {
  return new Promise((resolve, reject) => {
    // Node's default maxmem (32 MiB) refuses restic's usual N = 32768, r = 8.
    scrypt(password, salt, 64, { N, r, p, maxmem: 2 * 128 * N * r + 16 * 1024 * 1024 }, (error, key) => {
      if (error) reject(error);
      else resolve({ encrypt: key.subarray(0, 32), macK: key.subarray(32, 48), macR: key.subarray(48, 64) });
    });
  });
}
