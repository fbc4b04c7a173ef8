import {
  type Cipheriv,
  createCipheriv,
  createSecretKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { EngineError } from "../errors.ts";
import { freeNow } from "../memory.ts";
import { assertValidKey, type CryptoKey } from "./key.ts";
import { Poly1305 } from "./poly1305.ts";

// restic's authenticated encryption (design.rst "Keys, Encryption and MAC", engine-reference §1.3):
//   IV(16) || AES-256-CTR(encrypt, IV, P) || MAC(16)
// with MAC = Poly1305 over the ciphertext only (not the IV, no length block) under the one-time key
// r || AES-128(k, IV). Opening verifies the MAC before it decrypts anything.

export type { CryptoKey } from "./key.ts";

const ivLength = 16;
const macLength = 16;
/** Bytes sealing adds to a plaintext (restic's crypto.Extension). */
export const sealOverhead = ivLength + macLength;

function isAllZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

// Per master key, made once: the AES-256 key object for CTR and an AES-128-ECB cipher for the MAC's one-time keys
// (ECB keeps no state between blocks, so one cipher serves every IV). Preparing them on every blob cost more than
// sealing a small blob itself.
type PreparedKey = { encrypt: KeyObject; macAes: Cipheriv };
const preparedKeys = new WeakMap<CryptoKey, PreparedKey>();

function prepared(key: CryptoKey): PreparedKey {
  let ready = preparedKeys.get(key);
  if (!ready) {
    ready = {
      encrypt: createSecretKey(key.encrypt),
      macAes: createCipheriv("aes-128-ecb", key.macK, null).setAutoPadding(false),
    };
    preparedKeys.set(key, ready);
  }
  return ready;
}

/** Poly1305-AES: the tag of `ciphertext` for this key and IV. */
function mac(key: CryptoKey, iv: Uint8Array, ciphertext: Uint8Array): Buffer {
  const oneTimeKey = Buffer.allocUnsafe(32);
  key.macR.copy(oneTimeKey, 0);
  prepared(key).macAes.update(iv).copy(oneTimeKey, 16);
  return new Poly1305(oneTimeKey).update(ciphertext).digest();
}

/** Random IVs drawn from a block of randomness refilled as it runs out (one system call per 256 IVs). */
let randomPool = Buffer.alloc(0);
let randomOffset = 0;
function randomIv(): Buffer {
  if (randomOffset + ivLength > randomPool.length) {
    randomPool = randomBytes(ivLength * 256);
    randomOffset = 0;
  }
  const iv = randomPool.subarray(randomOffset, randomOffset + ivLength);
  randomOffset += ivLength;
  return iv;
}

/**
 * Encrypts and authenticates `plaintext`. The IV is random unless given (tests, vectors); restic refuses an
 * all-zero IV in both directions, so we never write one.
 */
export function seal(key: CryptoKey, plaintext: Uint8Array, iv?: Uint8Array): Buffer {
  assertValidKey(key);
  let nonce: Uint8Array;
  if (iv) {
    if (iv.length !== ivLength) throw new EngineError("INVALID_CIPHERTEXT", `the IV must be ${ivLength} bytes`);
    if (isAllZero(iv)) throw new EngineError("INVALID_CIPHERTEXT", "an all-zero IV is not allowed (restic refuses it)");
    nonce = iv;
  } else {
    do nonce = randomIv();
    while (isAllZero(nonce));
  }
  const out = Buffer.allocUnsafe(plaintext.length + sealOverhead);
  out.set(nonce, 0);
  // CTR on a whole buffer: update() gives every byte at once, final() adds nothing for a stream mode.
  const ciphertext = createCipheriv("aes-256-ctr", prepared(key).encrypt, nonce).update(plaintext);
  out.set(ciphertext, ivLength);
  out.set(mac(key, nonce, ciphertext), ivLength + plaintext.length);
  freeNow(ciphertext);
  return out;
}

/**
 * Seals several plaintexts at once, back to back in one buffer, each exactly as seal() would (IV || C || MAC): for
 * batches of small blobs, where setting up a cipher per blob cost more than encrypting it. One CTR pass covers them
 * all, each plaintext starting on a block boundary: plaintext i is encrypted from the random IV advanced by the
 * blocks of the plaintexts before it, which is its own IV. AES-CTR increments the whole 128-bit block, in OpenSSL
 * and in Go (restic), so every plaintext has its own counter range, none overlapping another's, and every MAC its
 * own nonce, as with a random IV each. The one-time MAC keys come from one ECB call over all the IVs. `firstIv`
 * replaces the random one (tests).
 */
export function sealAll(key: CryptoKey, plaintexts: Uint8Array[], firstIv?: Uint8Array): Buffer {
  assertValidKey(key);
  if (firstIv && firstIv.length !== ivLength) {
    throw new EngineError("INVALID_CIPHERTEXT", `the IV must be ${ivLength} bytes`);
  }
  const starts: number[] = [];
  let padded = 0;
  for (const plaintext of plaintexts) {
    starts.push(padded);
    // At least one block even when empty: two plaintexts must never share an IV, which is also the MAC's nonce.
    padded += Math.max(1, Math.ceil(plaintext.length / 16)) * 16;
  }
  let first = firstIv ?? randomIv();
  while (isAllZero(first)) first = randomIv();
  const ivs = Buffer.allocUnsafe(plaintexts.length * ivLength);
  for (const [i, start] of starts.entries()) {
    const iv = ivs.subarray(i * ivLength, (i + 1) * ivLength);
    advancedCounter(first, start / 16, iv);
    // An all-zero IV is refused by restic; vanishingly rare, and then each plaintext gets its own random IV.
    if (isAllZero(iv)) return Buffer.concat(plaintexts.map((plaintext) => seal(key, plaintext)));
  }
  // The padding between plaintexts is encrypted too, and its ciphertext dropped: its bytes never matter.
  const joined = Buffer.allocUnsafe(padded);
  for (const [i, plaintext] of plaintexts.entries()) joined.set(plaintext, starts[i]);
  const ciphertext = createCipheriv("aes-256-ctr", prepared(key).encrypt, first).update(joined);
  const sValues = prepared(key).macAes.update(ivs);
  const out = Buffer.allocUnsafe(plaintexts.reduce((sum, plaintext) => sum + plaintext.length + sealOverhead, 0));
  const oneTimeKey = Buffer.allocUnsafe(32);
  key.macR.copy(oneTimeKey, 0);
  let at = 0;
  for (const [i, plaintext] of plaintexts.entries()) {
    const start = starts[i]!;
    const encrypted = ciphertext.subarray(start, start + plaintext.length);
    ivs.copy(out, at, i * ivLength, (i + 1) * ivLength);
    out.set(encrypted, at + ivLength);
    sValues.copy(oneTimeKey, 16, i * ivLength, (i + 1) * ivLength);
    out.set(new Poly1305(oneTimeKey).update(encrypted).digest(), at + ivLength + plaintext.length);
    at += plaintext.length + sealOverhead;
  }
  freeNow(joined);
  freeNow(ciphertext);
  return out;
}

/** `counter` + `blocks` as one 128-bit big-endian number (wrapping), written to `into`. */
function advancedCounter(counter: Uint8Array, blocks: number, into: Uint8Array): void {
  let carry = blocks;
  for (let i = 15; i >= 0; i--) {
    const sum = counter[i]! + (carry % 256);
    into[i] = sum & 0xff;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
}

/**
 * Verifies and decrypts `IV || C || MAC`. MAC_MISMATCH when authentication fails (damaged data or another key);
 * INVALID_CIPHERTEXT when the input cannot be sealed data at all. `what` names the data in error messages.
 */
export function open(key: CryptoKey, sealed: Uint8Array, what = "data"): Buffer {
  const ciphertext = authenticate(key, sealed, what);
  return createCipheriv("aes-256-ctr", prepared(key).encrypt, sealed.subarray(0, ivLength)).update(ciphertext);
}

/** open() without the decryption: throws as open() does, returns nothing (for copying sealed data unchanged). */
export function verifySealed(key: CryptoKey, sealed: Uint8Array, what = "data"): void {
  authenticate(key, sealed, what);
}

function authenticate(key: CryptoKey, sealed: Uint8Array, what: string): Uint8Array {
  assertValidKey(key);
  if (sealed.length < sealOverhead) {
    throw new EngineError(
      "INVALID_CIPHERTEXT",
      `${what} is ${sealed.length} bytes, too short to be encrypted data (at least ${sealOverhead})`,
    );
  }
  const iv = sealed.subarray(0, ivLength);
  if (isAllZero(iv)) throw new EngineError("INVALID_CIPHERTEXT", `${what} has an all-zero IV, which restic refuses`);
  const ciphertext = sealed.subarray(ivLength, sealed.length - macLength);
  const expected = sealed.subarray(sealed.length - macLength);
  if (!timingSafeEqual(mac(key, iv, ciphertext), expected)) {
    throw new EngineError(
      "MAC_MISMATCH",
      `${what} failed authentication: it is damaged or was encrypted with another key; run a check of the repository`,
    );
  }
  return ciphertext;
}
