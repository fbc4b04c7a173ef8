import { randomBytes } from "node:crypto";
import { EngineError } from "../errors.ts";

// Polynomials over GF(2) in a bigint (bit i = coefficient of x^i), for the chunker's setup: the repository's random
// irreducible degree-53 polynomial and the lookup tables derived from it (engine-reference §2.2-2.3). Setup only;
// the per-byte loop in rabin.ts uses 32-bit halves of these tables.

export function degree(p: bigint): number {
  return p === 0n ? -1 : p.toString(2).length - 1;
}

export function mod(a: bigint, p: bigint): bigint {
  const dp = degree(p);
  let result = a;
  for (let d = degree(result); d >= dp; d = degree(result)) result ^= p << BigInt(d - dp);
  return result;
}

/** Carry-less product of a and b, reduced modulo p. */
export function mulMod(a: bigint, b: bigint, p: bigint): bigint {
  let product = 0n;
  let shifted = a;
  for (let bits = b; bits > 0n; bits >>= 1n) {
    if (bits & 1n) product ^= shifted;
    shifted <<= 1n;
  }
  return mod(product, p);
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) [x, y] = [y, mod(x, y)];
  return x;
}

/** Ben-Or: f is irreducible iff gcd(f, x^(2^i) - x mod f) = 1 for every i in 1..deg(f)/2. */
export function isIrreducible(f: bigint): boolean {
  const half = Math.floor(degree(f) / 2);
  let power = 2n; // x
  for (let i = 1; i <= half; i++) {
    power = mulMod(power, power, f); // x^(2^i)
    if (gcd(f, power ^ 2n) !== 1n) return false;
  }
  return true;
}

/** restic's RandomPolynomial: a random irreducible polynomial of degree 53. */
export function randomPolynomial(random: (size: number) => Buffer = randomBytes): bigint {
  for (let attempt = 0; attempt < 1_000_000; attempt++) {
    const candidate = (random(8).readBigUInt64LE(0) & ((1n << 54n) - 1n)) | (1n << 53n) | 1n;
    if (isIrreducible(candidate)) return candidate;
  }
  throw new EngineError("INVALID_POLYNOMIAL", "found no irreducible polynomial; the random source is broken");
}

export const windowSize = 64;

export type ChunkerTables = {
  /** Bits of the polynomial's degree minus 8: how far the digest's top byte sits. */
  polShift: number;
  outHi: Int32Array;
  outLo: Uint32Array;
  modHi: Int32Array;
  modLo: Uint32Array;
};

/**
 * out[b] removes byte b leaving the 64-byte window (b·x^(8·63) mod pol); mod[b] reduces the byte shifted out at the
 * top ((b·x^k mod pol) | b·x^k). Split into 32-bit halves for the hot loop.
 */
export function chunkerTables(pol: bigint): ChunkerTables {
  const k = degree(pol);
  if (k !== 53) throw new EngineError("INVALID_POLYNOMIAL", `the chunker polynomial must have degree 53, not ${k}`);
  const outHi = new Int32Array(256);
  const outLo = new Uint32Array(256);
  const modHi = new Int32Array(256);
  const modLo = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let hash = mod(BigInt(b), pol);
    for (let i = 0; i < windowSize - 1; i++) hash = mod(hash << 8n, pol);
    outHi[b] = Number(hash >> 32n);
    outLo[b] = Number(hash & 0xffffffffn);
    const top = BigInt(b) << BigInt(k);
    const reduction = mod(top, pol) | top;
    modHi[b] = Number(reduction >> 32n);
    modLo[b] = Number(reduction & 0xffffffffn);
  }
  return { polShift: k - 8, outHi, outLo, modHi, modLo };
}
