import { scrypt } from "node:crypto";
import { EngineError } from "../errors.ts";
import type { CryptoKey } from "./key.ts";

// Password → user key (engine-reference §1.4): scrypt(password, salt, N, r, p) to 64 bytes, split 32 (AES-256) /
// 16 (MAC k) / 16 (MAC r). The user key only opens the key file's `data`, which holds the master key.

export type ScryptParameters = { N: number; r: number; p: number };

/**
 * restic calibrates to N = 2^15, r = 8 (32 MiB, the largest power of two under its 60 MiB budget) and raises p
 * until a derivation takes ~500 ms; p = 1 keeps ours near 100 ms. Readers just use what a key file says.
 */
export const defaultScrypt: ScryptParameters = { N: 32_768, r: 8, p: 1 };

/** scrypt needs 128·N·r bytes; more than this from a key file is refused rather than risking the process. */
const memoryLimit = 1024 * 1024 * 1024;

export function assertScryptParameters({ N, r, p }: ScryptParameters): void {
  const valid =
    Number.isSafeInteger(N) &&
    N > 1 &&
    (N & (N - 1)) === 0 &&
    Number.isSafeInteger(r) &&
    r > 0 &&
    Number.isSafeInteger(p) &&
    p > 0 &&
    r * p < 2 ** 30;
  if (!valid) {
    throw new EngineError(
      "INVALID_KEY_FILE",
      `invalid scrypt parameters N=${N} r=${r} p=${p} (N must be a power of 2)`,
    );
  }
  if (128 * N * r > memoryLimit) {
    throw new EngineError("INVALID_KEY_FILE", `scrypt parameters N=${N} r=${r} would need more than 1 GiB of memory`);
  }
}

/** The user key for a password and salt. */
export async function deriveUserKey(
  password: string | Uint8Array,
  salt: Uint8Array,
  parameters: ScryptParameters,
): Promise<CryptoKey> {
  assertScryptParameters(parameters);
  const { N, r, p } = parameters;
  return await new Promise((resolve, reject) => {
    // Node's default maxmem (32 MiB) refuses restic's usual N = 32768, r = 8 (it needs 32 MiB plus a little).
    scrypt(password, salt, 64, { N, r, p, maxmem: 2 * 128 * N * r + 16 * 1024 * 1024 }, (error, key) => {
      if (error) reject(error);
      else resolve({ encrypt: key.subarray(0, 32), macK: key.subarray(32, 48), macR: key.subarray(48, 64) });
    });
  });
}
