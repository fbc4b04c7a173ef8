// Poly1305 (RFC 8439 §2.5) in plain JavaScript numbers. restic's MAC is Poly1305-AES over the ciphertext
// (engine-reference §1.3); the one-time key r || s is assembled in seal.ts.
//
// Why it looks like this (speed is the point: this MAC runs over every byte we store or read):
// * Radix 2^22, six limbs held as doubles. 6 × 22 = 132 bits cover the 130-bit accumulator, and 2^132 ≡ 20
//   (mod 2^130 − 5), so a product limb that overflows the top wraps around multiplied by 20. One block costs 36
//   multiplications instead of the 100 of a 13-bit (donna-16) layout.
// * Exactness: limbs of h stay below 2^23 + 2^14 after adding a message block, limbs of r (and of r², see below)
//   below 2^22, so every product is < 2^49.4 and every column sum (12 products) < 2^52.5 — exact in a double,
//   which holds integers up to 2^53. Division by 2^22 is a multiplication by an exact power of two, and
//   Math.floor of an exact value is exact, so the carries are exact too.
// * Two blocks per step: h ← (h + m1)·r² + m2·r gives the same value as two Horner steps but needs only one carry
//   pass, and the twelve products per column are independent, which keeps the CPU's multipliers busy.
// * Carries are propagated in two parallel rounds instead of one serial chain (shorter dependency chain); after
//   them every limb is < 2^22 + 2^14 again, which is all the next step needs.
// * Message words are read with DataView.getInt32 (no copies, no allocation per block; any alignment).

const radix = 4_194_304; // 2^22
const inverseRadix = 1 / radix;
const limbMask = 0x3f_ffff;
/** 2^128 expressed in limb 5 (bits 110..131): the pad bit a full 16-byte block gets. */
const fullBlockPad = 1 << 18;

// Layout of the per-key state (one Float64Array, so the hot functions take one argument for all of it).
const H = 0; // h0..h5: the accumulator
const R1 = 6; // r0..r5: the clamped key r
const S1 = 12; // 20·r1..20·r5 (the wrapped-around multiples)
const R2 = 17; // r² mod p, limbs
const S2 = 23; // 20·(r²)1..5
const stateSize = 28;

/** h ← (h + m)·r for one 16-byte block at `at`; `pad` is 2^128 in limb 5 for full blocks, 0 for the padded tail. */
function block(st: Float64Array, m: DataView, at: number, pad: number): void {
  const a = m.getInt32(at, true);
  const b = m.getInt32(at + 4, true);
  const c = m.getInt32(at + 8, true);
  const d = m.getInt32(at + 12, true);
  const h0 = st[H]! + (a & limbMask);
  const h1 = st[H + 1]! + (((a >>> 22) | (b << 10)) & limbMask);
  const h2 = st[H + 2]! + (((b >>> 12) | (c << 20)) & limbMask);
  const h3 = st[H + 3]! + ((c >>> 2) & limbMask);
  const h4 = st[H + 4]! + (((c >>> 24) | (d << 8)) & limbMask);
  const h5 = st[H + 5]! + ((d >>> 14) | pad);
  const r0 = st[R1]!;
  const r1 = st[R1 + 1]!;
  const r2 = st[R1 + 2]!;
  const r3 = st[R1 + 3]!;
  const r4 = st[R1 + 4]!;
  const r5 = st[R1 + 5]!;
  const s1 = st[S1]!;
  const s2 = st[S1 + 1]!;
  const s3 = st[S1 + 2]!;
  const s4 = st[S1 + 3]!;
  const s5 = st[S1 + 4]!;
  const t0 = h0 * r0 + h1 * s5 + h2 * s4 + h3 * s3 + h4 * s2 + h5 * s1;
  const t1 = h0 * r1 + h1 * r0 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2;
  const t2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s5 + h4 * s4 + h5 * s3;
  const t3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s5 + h5 * s4;
  const t4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s5;
  const t5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0;
  carry(st, t0, t1, t2, t3, t4, t5);
}

/** Two parallel carry rounds; the carry out of limb 5 re-enters limb 0 times 20 (2^132 ≡ 20 mod p). */
function carry(st: Float64Array, t0: number, t1: number, t2: number, t3: number, t4: number, t5: number): void {
  const q0 = Math.floor(t0 * inverseRadix);
  const q1 = Math.floor(t1 * inverseRadix);
  const q2 = Math.floor(t2 * inverseRadix);
  const q3 = Math.floor(t3 * inverseRadix);
  const q4 = Math.floor(t4 * inverseRadix);
  const q5 = Math.floor(t5 * inverseRadix);
  const u0 = t0 - q0 * radix + q5 * 20;
  const u1 = t1 - q1 * radix + q0;
  const u2 = t2 - q2 * radix + q1;
  const u3 = t3 - q3 * radix + q2;
  const u4 = t4 - q4 * radix + q3;
  const u5 = t5 - q5 * radix + q4;
  const p0 = Math.floor(u0 * inverseRadix);
  const p1 = Math.floor(u1 * inverseRadix);
  const p2 = Math.floor(u2 * inverseRadix);
  const p3 = Math.floor(u3 * inverseRadix);
  const p4 = Math.floor(u4 * inverseRadix);
  const p5 = Math.floor(u5 * inverseRadix);
  st[H] = u0 - p0 * radix + p5 * 20;
  st[H + 1] = u1 - p1 * radix + p0;
  st[H + 2] = u2 - p2 * radix + p1;
  st[H + 3] = u3 - p3 * radix + p2;
  st[H + 4] = u4 - p4 * radix + p3;
  st[H + 5] = u5 - p5 * radix + p4;
}

/** The hot loop: full 32-byte pairs from `at` to `end`, h ← (h + m1)·r² + m2·r, state in locals. */
function pairs(st: Float64Array, m: DataView, start: number, end: number): void {
  let h0 = st[H]!;
  let h1 = st[H + 1]!;
  let h2 = st[H + 2]!;
  let h3 = st[H + 3]!;
  let h4 = st[H + 4]!;
  let h5 = st[H + 5]!;
  const r0 = st[R1]!;
  const r1 = st[R1 + 1]!;
  const r2 = st[R1 + 2]!;
  const r3 = st[R1 + 3]!;
  const r4 = st[R1 + 4]!;
  const r5 = st[R1 + 5]!;
  const s1 = st[S1]!;
  const s2 = st[S1 + 1]!;
  const s3 = st[S1 + 2]!;
  const s4 = st[S1 + 3]!;
  const s5 = st[S1 + 4]!;
  const k0 = st[R2]!;
  const k1 = st[R2 + 1]!;
  const k2 = st[R2 + 2]!;
  const k3 = st[R2 + 3]!;
  const k4 = st[R2 + 4]!;
  const k5 = st[R2 + 5]!;
  const l1 = st[S2]!;
  const l2 = st[S2 + 1]!;
  const l3 = st[S2 + 2]!;
  const l4 = st[S2 + 3]!;
  const l5 = st[S2 + 4]!;
  for (let at = start; at < end; at += 32) {
    const a = m.getInt32(at, true);
    const b = m.getInt32(at + 4, true);
    const c = m.getInt32(at + 8, true);
    const d = m.getInt32(at + 12, true);
    const e = m.getInt32(at + 16, true);
    const f = m.getInt32(at + 20, true);
    const g = m.getInt32(at + 24, true);
    const k = m.getInt32(at + 28, true);
    const a0 = h0 + (a & limbMask);
    const a1 = h1 + (((a >>> 22) | (b << 10)) & limbMask);
    const a2 = h2 + (((b >>> 12) | (c << 20)) & limbMask);
    const a3 = h3 + ((c >>> 2) & limbMask);
    const a4 = h4 + (((c >>> 24) | (d << 8)) & limbMask);
    const a5 = h5 + ((d >>> 14) | fullBlockPad);
    const m0 = e & limbMask;
    const m1 = ((e >>> 22) | (f << 10)) & limbMask;
    const m2 = ((f >>> 12) | (g << 20)) & limbMask;
    const m3 = (g >>> 2) & limbMask;
    const m4 = ((g >>> 24) | (k << 8)) & limbMask;
    const m5 = (k >>> 14) | fullBlockPad;
    const t0 = a0 * k0 + a1 * l5 + a2 * l4 + a3 * l3 + a4 * l2 + a5 * l1;
    const t1 = a0 * k1 + a1 * k0 + a2 * l5 + a3 * l4 + a4 * l3 + a5 * l2;
    const t2 = a0 * k2 + a1 * k1 + a2 * k0 + a3 * l5 + a4 * l4 + a5 * l3;
    const t3 = a0 * k3 + a1 * k2 + a2 * k1 + a3 * k0 + a4 * l5 + a5 * l4;
    const t4 = a0 * k4 + a1 * k3 + a2 * k2 + a3 * k1 + a4 * k0 + a5 * l5;
    const t5 = a0 * k5 + a1 * k4 + a2 * k3 + a3 * k2 + a4 * k1 + a5 * k0;
    const v0 = t0 + m0 * r0 + m1 * s5 + m2 * s4 + m3 * s3 + m4 * s2 + m5 * s1;
    const v1 = t1 + m0 * r1 + m1 * r0 + m2 * s5 + m3 * s4 + m4 * s3 + m5 * s2;
    const v2 = t2 + m0 * r2 + m1 * r1 + m2 * r0 + m3 * s5 + m4 * s4 + m5 * s3;
    const v3 = t3 + m0 * r3 + m1 * r2 + m2 * r1 + m3 * r0 + m4 * s5 + m5 * s4;
    const v4 = t4 + m0 * r4 + m1 * r3 + m2 * r2 + m3 * r1 + m4 * r0 + m5 * s5;
    const v5 = t5 + m0 * r5 + m1 * r4 + m2 * r3 + m3 * r2 + m4 * r1 + m5 * r0;
    // Inlined carry() — a call here would cost a fifth of the speed.
    const q0 = Math.floor(v0 * inverseRadix);
    const q1 = Math.floor(v1 * inverseRadix);
    const q2 = Math.floor(v2 * inverseRadix);
    const q3 = Math.floor(v3 * inverseRadix);
    const q4 = Math.floor(v4 * inverseRadix);
    const q5 = Math.floor(v5 * inverseRadix);
    const u0 = v0 - q0 * radix + q5 * 20;
    const u1 = v1 - q1 * radix + q0;
    const u2 = v2 - q2 * radix + q1;
    const u3 = v3 - q3 * radix + q2;
    const u4 = v4 - q4 * radix + q3;
    const u5 = v5 - q5 * radix + q4;
    const p0 = Math.floor(u0 * inverseRadix);
    const p1 = Math.floor(u1 * inverseRadix);
    const p2 = Math.floor(u2 * inverseRadix);
    const p3 = Math.floor(u3 * inverseRadix);
    const p4 = Math.floor(u4 * inverseRadix);
    const p5 = Math.floor(u5 * inverseRadix);
    h0 = u0 - p0 * radix + p5 * 20;
    h1 = u1 - p1 * radix + p0;
    h2 = u2 - p2 * radix + p1;
    h3 = u3 - p3 * radix + p2;
    h4 = u4 - p4 * radix + p3;
    h5 = u5 - p5 * radix + p4;
  }
  st[H] = h0;
  st[H + 1] = h1;
  st[H + 2] = h2;
  st[H + 3] = h3;
  st[H + 4] = h4;
  st[H + 5] = h5;
}

/** Carries limbs fully (each < 2^22) in place; the carry out of the top wraps around times 20. */
function normalize(limbs: Float64Array, at: number): void {
  for (let pass = 0; pass < 3; pass++) {
    let q = 0;
    for (let i = 0; i < 6; i++) {
      const value = limbs[at + i]! + q;
      q = Math.floor(value * inverseRadix);
      limbs[at + i] = value - q * radix;
    }
    limbs[at] = limbs[at]! + q * 20;
  }
}

function readUint32LE(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** Incremental Poly1305 for one one-time key: update() with any pieces, then digest() once. */
export class Poly1305 {
  readonly #st = new Float64Array(stateSize);
  readonly #s = new Uint32Array(4);
  /** A partial block carried over between update() calls. */
  readonly #tail = new Uint8Array(16);
  readonly #tailView = new DataView(this.#tail.buffer);
  #tailLength = 0;
  #done = false;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError("Poly1305 needs a 32-byte one-time key (r || s)");
    // r is clamped here (RFC 8439 §2.5: r &= 0x0ffffffc0ffffffc0ffffffc0fffffff); restic stores it unclamped.
    const w0 = readUint32LE(key, 0) & 0x0fff_ffff;
    const w1 = readUint32LE(key, 4) & 0x0fff_fffc;
    const w2 = readUint32LE(key, 8) & 0x0fff_fffc;
    const w3 = readUint32LE(key, 12) & 0x0fff_fffc;
    const st = this.#st;
    st[R1] = w0 & limbMask;
    st[R1 + 1] = ((w0 >>> 22) | (w1 << 10)) & limbMask;
    st[R1 + 2] = ((w1 >>> 12) | (w2 << 20)) & limbMask;
    st[R1 + 3] = (w2 >>> 2) & limbMask;
    st[R1 + 4] = ((w2 >>> 24) | (w3 << 8)) & limbMask;
    st[R1 + 5] = w3 >>> 14;
    for (let i = 1; i < 6; i++) st[S1 + i - 1] = 20 * st[R1 + i]!;
    // r² mod p, by the same schoolbook product (h = r, m = 0), then fully carried so every limb is < 2^22.
    const square = new Float64Array(stateSize);
    square.set(st);
    for (let i = 0; i < 6; i++) square[H + i] = st[R1 + i]!;
    block(square, new DataView(new ArrayBuffer(16)), 0, 0);
    normalize(square, H);
    for (let i = 0; i < 6; i++) st[R2 + i] = square[H + i]!;
    for (let i = 1; i < 6; i++) st[S2 + i - 1] = 20 * st[R2 + i]!;
    for (let i = 0; i < 4; i++) this.#s[i] = readUint32LE(key, 16 + 4 * i);
  }

  update(data: Uint8Array): this {
    if (this.#done) throw new Error("Poly1305: update() after digest()");
    let at = 0;
    if (this.#tailLength > 0) {
      const take = Math.min(16 - this.#tailLength, data.length);
      this.#tail.set(data.subarray(0, take), this.#tailLength);
      this.#tailLength += take;
      at = take;
      if (this.#tailLength < 16) return this;
      block(this.#st, this.#tailView, 0, fullBlockPad);
      this.#tailLength = 0;
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const pairEnd = at + ((data.length - at) & ~31);
    pairs(this.#st, view, at, pairEnd);
    at = pairEnd;
    if (data.length - at >= 16) {
      block(this.#st, view, at, fullBlockPad);
      at += 16;
    }
    if (at < data.length) {
      this.#tail.set(data.subarray(at));
      this.#tailLength = data.length - at;
    }
    return this;
  }

  /** The 16-byte tag: (h mod 2^130 − 5) + s, low 128 bits, little-endian. */
  digest(): Buffer {
    if (this.#done) throw new Error("Poly1305: digest() called twice");
    this.#done = true;
    const st = this.#st;
    if (this.#tailLength > 0) {
      // RFC 8439: a short last block gets a 1 byte after its end instead of the 2^128 pad.
      this.#tail.fill(0, this.#tailLength);
      this.#tail[this.#tailLength] = 1;
      block(st, this.#tailView, 0, 0);
    }
    normalize(st, H);
    // Now h < 2^132 with limbs < 2^22. Fold bits 130 and 131 (limb 5 bits 20, 21) back in times 5.
    let h0 = st[H]!;
    let h1 = st[H + 1]!;
    let h2 = st[H + 2]!;
    let h3 = st[H + 3]!;
    let h4 = st[H + 4]!;
    let h5 = st[H + 5]!;
    for (let pass = 0; pass < 2; pass++) {
      const top = h5 >>> 20;
      h5 &= 0xf_ffff;
      h0 += top * 5;
      h1 += h0 >>> 22;
      h0 &= limbMask;
      h2 += h1 >>> 22;
      h1 &= limbMask;
      h3 += h2 >>> 22;
      h2 &= limbMask;
      h4 += h3 >>> 22;
      h3 &= limbMask;
      h5 += h4 >>> 22;
      h4 &= limbMask;
    }
    // h < 2^130 now; subtract p once if h ≥ p, i.e. if h + 5 reaches 2^130.
    let g0 = h0 + 5;
    let g1 = h1 + (g0 >>> 22);
    g0 &= limbMask;
    let g2 = h2 + (g1 >>> 22);
    g1 &= limbMask;
    let g3 = h3 + (g2 >>> 22);
    g2 &= limbMask;
    let g4 = h4 + (g3 >>> 22);
    g3 &= limbMask;
    const g5 = h5 + (g4 >>> 22);
    g4 &= limbMask;
    if (g5 >>> 20 !== 0) {
      h0 = g0;
      h1 = g1;
      h2 = g2;
      h3 = g3;
      h4 = g4;
      h5 = g5 & 0xf_ffff;
    }
    // Low 128 bits as four 32-bit words, plus s with carries.
    const words = [
      (h0 | (h1 << 22)) >>> 0,
      ((h1 >>> 10) | (h2 << 12)) >>> 0,
      ((h2 >>> 20) | (h3 << 2) | (h4 << 24)) >>> 0,
      ((h4 >>> 8) | (h5 << 14)) >>> 0,
    ];
    const tag = Buffer.allocUnsafe(16);
    let carried = 0;
    for (let i = 0; i < 4; i++) {
      const sum = words[i]! + this.#s[i]! + carried;
      carried = sum > 0xffff_ffff ? 1 : 0;
      tag.writeUInt32LE(sum >>> 0, 4 * i);
    }
    return tag;
  }
}

/** One-shot Poly1305 of `message` under the 32-byte one-time key r || s. */
export function poly1305(key: Uint8Array, message: Uint8Array): Buffer {
  return new Poly1305(key).update(message).digest();
}
