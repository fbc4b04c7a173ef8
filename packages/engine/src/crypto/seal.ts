import { createCipheriv, randomBytes, timingSafeEqual } from "node:crypto";
import { EngineError } from "../errors.ts";
import { poly1305 } from "./poly1305.ts";

// restic's authenticated encryption (design.rst, "Keys, Encryption and MAC"): IV(16) || AES-256-CTR(P) || MAC(16),
// where MAC = Poly1305-AES over the ciphertext only, one-time key r || AES-128_k(IV).

export type CryptoKey = { encrypt: Buffer; macK: Buffer; macR: Buffer };

const ivLength = 16;
const macLength = 16;
export const sealOverhead = ivLength + macLength;

function mac(key: CryptoKey, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const aes = createCipheriv("aes-128-ecb", key.macK, null).setAutoPadding(false);
  const s = Buffer.concat([aes.update(iv), aes.final()]);
  return poly1305(Buffer.concat([key.macR, s]), ciphertext);
}

export function seal(key: CryptoKey, plaintext: Uint8Array): Buffer {
  let iv = randomBytes(ivLength);
  // restic rejects an all-zero nonce.
  while (iv.every((byte) => byte === 0)) iv = randomBytes(ivLength);
  const cipher = createCipheriv("aes-256-ctr", key.encrypt, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ciphertext, mac(key, iv, ciphertext)]);
}

export function open(key: CryptoKey, sealed: Uint8Array, what = "data"): Buffer {
  if (sealed.length < sealOverhead)
    throw new EngineError("INVALID_CIPHERTEXT", `${what} is too short to be encrypted data`);
  const iv = sealed.subarray(0, ivLength);
  const ciphertext = sealed.subarray(ivLength, sealed.length - macLength);
  const expected = sealed.subarray(sealed.length - macLength);
  if (!timingSafeEqual(Buffer.from(mac(key, iv, ciphertext)), Buffer.from(expected))) {
    throw new EngineError("MAC_MISMATCH", `${what} failed authentication (damaged, or encrypted with another key)`);
  }
  const decipher = createCipheriv("aes-256-ctr", key.encrypt, iv);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}
