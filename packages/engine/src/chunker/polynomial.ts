import { randomBytes } from "node:crypto";
import { EngineError } from "../errors.ts";

// Polynomials over GF(2) in a bigint (bit i = coefficient of x^i), for the chunker's setup (restic/chunker's Pol;
// engine-reference §2.2-2.3): the repository's random irreducible degree-53 polynomial and the lookup tables
// derived from it. Setup only, so BigInt is fine here; the per-byte loop in rabin.ts uses 32-bit halves of the
// tables.

/** Index of the highest set bit; -1 for the zero polynomial. */
export function degree(p: bigint): number {
  if (p <= 0n) return p === 0n ? -1 : Number.NaN;
  const hex = p.toString(16);
  return (hex.length - 1) * 4 + (31 - Math.clz32(Number.parseInt(hex[0]!, 16)));
}

/** a mod p: while deg(a) ≥ deg(p), a ^= p << (deg(a) − deg(p)). */
export function mod(a: bigint, p: bigint): bigint {
  if (p === 0n) throw new EngineError("INVALID_POLYNOMIAL", "division by the zero polynomial");
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

export function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) [x, y] = [y, mod(x, y)];
  return x;
}

/**
 * Ben-Or's test, as restic's Pol.Irreducible: f is irreducible iff gcd(f, x^(2^i) − x mod f) = 1 for every
 * i in 1..deg(f)/2, where x^(2^i) comes from squaring x i times modulo f and "− x" is XOR 2.
 */
export function isIrreducible(f: bigint): boolean {
  if (f < 2n) return false;
  const half = Math.floor(degree(f) / 2);
  let power = 2n; // x
  for (let i = 1; i <= half; i++) {
    power = mulMod(power, power, f); // x^(2^i)
    if (gcd(f, mod(power ^ 2n, f)) !== 1n) return false;
  }
  return true;
}

/**
 * restic's RandomPolynomial: up to a million times, read 8 bytes from the CSPRNG as a little-endian uint64, keep
 * bits 0..53, set bits 53 and 0, and return the first irreducible one (about 1 candidate in 26 is).
 */
export function randomPolynomial(random: (size: number) => Buffer = randomBytes): bigint {
  for (let attempt = 0; attempt < 1_000_000; attempt++) {
    const candidate = (random(8).readBigUInt64LE(0) & ((1n << 54n) - 1n)) | (1n << 53n) | 1n;
    if (isIrreducible(candidate)) return candidate;
  }
  throw new EngineError("INVALID_POLYNOMIAL", "found no irreducible polynomial; the random source is broken");
}

export const windowSize = 64;

/** The chunker's per-polynomial lookup tables, each 64-bit entry split into high and low 32-bit halves. */
export type ChunkerTables = {
  polynomial: bigint;
  /** deg(pol) − 8: where the digest's top byte sits (45 for degree 53). */
  polShift: number;
  outHi: Int32Array;
  outLo: Int32Array;
  modHi: Int32Array;
  modLo: Int32Array;
};

const tableCache = new Map<bigint, ChunkerTables>();

/**
 * out[b] removes byte b leaving the 64-byte window: the hash of the window b, 0, …, 0, i.e. b·x^(8·63) mod pol.
 * mod[b] = ((b << k) mod pol) | (b << k): XOR-ed into the digest after a shift by 8, its high part cancels the
 * byte that rose above bit k−1 and its low part adds that byte's reduction. Computed once per polynomial.
 */
export function chunkerTables(pol: bigint): ChunkerTables {
  const cached = tableCache.get(pol);
  if (cached) return cached;
  const k = degree(pol);
  // The 32-bit loop keeps the digest's high half below 2^21 and takes the top byte from bit polShift − 32 = 13:
  // exactly degree 53, the only degree restic creates.
  if (k !== 53) throw new EngineError("INVALID_POLYNOMIAL", `the chunker polynomial must have degree 53, not ${k}`);
  const outHi = new Int32Array(256);
  const outLo = new Int32Array(256);
  const modHi = new Int32Array(256);
  const modLo = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    let hash = mod(BigInt(b), pol);
    for (let i = 0; i < windowSize - 1; i++) hash = mod(hash << 8n, pol);
    outHi[b] = Number(hash >> 32n);
    outLo[b] = Number(BigInt.asIntN(32, hash));
    const top = BigInt(b) << BigInt(k);
    const reduction = mod(top, pol) | top;
    modHi[b] = Number(reduction >> 32n);
    modLo[b] = Number(BigInt.asIntN(32, reduction));
  }
  const tables = { polynomial: pol, polShift: k - 8, outHi, outLo, modHi, modLo };
  if (tableCache.size >= 16) tableCache.clear(); // a process uses one or two repositories; keep it bounded
  tableCache.set(pol, tables);
  return tables;
}
