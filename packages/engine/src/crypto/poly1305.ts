// Poly1305 (RFC 8439 §2.5) in plain JavaScript numbers, the poly1305-donna-16 layout: the 130-bit accumulator h
// and the clamped key r are ten 13-bit limbs held in local variables, so every partial product (13 × 16 bits, the
// modular wrap folded in as 5·r) and every row sum stays below 2^34, exact in a double. The multiply is unrolled
// (generated: one row per limb) because that is what lets the JIT keep the limbs in registers.
// restic's MAC is Poly1305-AES: the one-time key is r || AES_k(nonce) (see seal.ts).

const inverse8192 = 1 / 8192;

export function poly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError("poly1305 needs a 32-byte one-time key");
  // r, clamped (r &= 0x0ffffffc0ffffffc0ffffffc0fffffff), split into 13-bit limbs.
  const k0 = key[0]! | (key[1]! << 8);
  const k1 = key[2]! | ((key[3]! & 15) << 8);
  const k2 = (key[4]! & 252) | (key[5]! << 8);
  const k3 = key[6]! | ((key[7]! & 15) << 8);
  const k4 = (key[8]! & 252) | (key[9]! << 8);
  const k5 = key[10]! | ((key[11]! & 15) << 8);
  const k6 = (key[12]! & 252) | (key[13]! << 8);
  const k7 = key[14]! | ((key[15]! & 15) << 8);
  const r0 = k0 & 0x1fff;
  const r1 = ((k0 >>> 13) | (k1 << 3)) & 0x1fff;
  const r2 = ((k1 >>> 10) | (k2 << 6)) & 0x1fff;
  const r3 = ((k2 >>> 7) | (k3 << 9)) & 0x1fff;
  const r4 = ((k3 >>> 4) | (k4 << 12)) & 0x1fff;
  const r5 = (k4 >>> 1) & 0x1fff;
  const r6 = ((k4 >>> 14) | (k5 << 2)) & 0x1fff;
  const r7 = ((k5 >>> 11) | (k6 << 5)) & 0x1fff;
  const r8 = ((k6 >>> 8) | (k7 << 8)) & 0x1fff;
  const r9 = (k7 >>> 5) & 0x1fff;
  // 2^130 = 5 (mod p): limbs that overflow the top wrap around multiplied by 5.
  const s1 = 5 * r1;
  const s2 = 5 * r2;
  const s3 = 5 * r3;
  const s4 = 5 * r4;
  const s5 = 5 * r5;
  const s6 = 5 * r6;
  const s7 = 5 * r7;
  const s8 = 5 * r8;
  const s9 = 5 * r9;

  let h0 = 0;
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  let h5 = 0;
  let h6 = 0;
  let h7 = 0;
  let h8 = 0;
  let h9 = 0;
  const tail = new Uint8Array(16);
  for (let offset = 0; offset < message.length; offset += 16) {
    let m = message;
    let at = offset;
    // The pad: 2^128 for a full block; a short last block gets a 1 byte after its end instead (RFC 8439).
    let padBit = 1 << 11;
    if (message.length - offset < 16) {
      const rest = message.length - offset;
      tail.fill(0);
      tail.set(message.subarray(offset));
      tail[rest] = 1;
      m = tail;
      at = 0;
      padBit = 0;
    }
    const t0 = m[at]! | (m[at + 1]! << 8);
    const t1 = m[at + 2]! | (m[at + 3]! << 8);
    const t2 = m[at + 4]! | (m[at + 5]! << 8);
    const t3 = m[at + 6]! | (m[at + 7]! << 8);
    const t4 = m[at + 8]! | (m[at + 9]! << 8);
    const t5 = m[at + 10]! | (m[at + 11]! << 8);
    const t6 = m[at + 12]! | (m[at + 13]! << 8);
    const t7 = m[at + 14]! | (m[at + 15]! << 8);
    h0 += t0 & 0x1fff;
    h1 += ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
    h2 += ((t1 >>> 10) | (t2 << 6)) & 0x1fff;
    h3 += ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
    h4 += ((t3 >>> 4) | (t4 << 12)) & 0x1fff;
    h5 += (t4 >>> 1) & 0x1fff;
    h6 += ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
    h7 += ((t5 >>> 11) | (t6 << 5)) & 0x1fff;
    h8 += ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
    h9 += (t7 >>> 5) | padBit;

    {
      let c = 0;
      let d = 0;
      d = c + h0 * r0 + h1 * s9 + h2 * s8 + h3 * s7 + h4 * s6 + h5 * s5 + h6 * s4 + h7 * s3 + h8 * s2 + h9 * s1;
      c = Math.floor(d * inverse8192);
      const e0 = d - c * 8192;
      d = c + h0 * r1 + h1 * r0 + h2 * s9 + h3 * s8 + h4 * s7 + h5 * s6 + h6 * s5 + h7 * s4 + h8 * s3 + h9 * s2;
      c = Math.floor(d * inverse8192);
      const e1 = d - c * 8192;
      d = c + h0 * r2 + h1 * r1 + h2 * r0 + h3 * s9 + h4 * s8 + h5 * s7 + h6 * s6 + h7 * s5 + h8 * s4 + h9 * s3;
      c = Math.floor(d * inverse8192);
      const e2 = d - c * 8192;
      d = c + h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s9 + h5 * s8 + h6 * s7 + h7 * s6 + h8 * s5 + h9 * s4;
      c = Math.floor(d * inverse8192);
      const e3 = d - c * 8192;
      d = c + h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s9 + h6 * s8 + h7 * s7 + h8 * s6 + h9 * s5;
      c = Math.floor(d * inverse8192);
      const e4 = d - c * 8192;
      d = c + h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0 + h6 * s9 + h7 * s8 + h8 * s7 + h9 * s6;
      c = Math.floor(d * inverse8192);
      const e5 = d - c * 8192;
      d = c + h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2 + h5 * r1 + h6 * r0 + h7 * s9 + h8 * s8 + h9 * s7;
      c = Math.floor(d * inverse8192);
      const e6 = d - c * 8192;
      d = c + h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3 + h5 * r2 + h6 * r1 + h7 * r0 + h8 * s9 + h9 * s8;
      c = Math.floor(d * inverse8192);
      const e7 = d - c * 8192;
      d = c + h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4 + h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * s9;
      c = Math.floor(d * inverse8192);
      const e8 = d - c * 8192;
      d = c + h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5 + h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;
      c = Math.floor(d * inverse8192);
      const e9 = d - c * 8192;
      // The carry out of the top limb wraps around times 5.
      d = e0 + c * 5;
      c = Math.floor(d * inverse8192);
      h0 = d - c * 8192;
      h1 = e1 + c;
      h2 = e2;
      h3 = e3;
      h4 = e4;
      h5 = e5;
      h6 = e6;
      h7 = e7;
      h8 = e8;
      h9 = e9;
    }
  }
  return finish([h0, h1, h2, h3, h4, h5, h6, h7, h8, h9], key);
}

/** Fully reduces h modulo 2^130 - 5, adds s = key[16..32], and writes the low 128 bits little-endian. */
function finish(h: number[], key: Uint8Array): Uint8Array {
  for (let pass = 0; pass < 2; pass++) {
    let carry = 0;
    for (let i = 0; i < 10; i++) {
      const value = h[i]! + carry;
      carry = Math.floor(value * inverse8192);
      h[i] = value - carry * 8192;
    }
    h[0] = h[0]! + carry * 5;
  }
  // g = h + 5 - 2^130; when that does not go negative, h >= p and g is the reduced value.
  const g = new Array<number>(10);
  let carry = 5;
  for (let i = 0; i < 10; i++) {
    const value = h[i]! + carry;
    carry = Math.floor(value * inverse8192);
    g[i] = value - carry * 8192;
  }
  const reduced = carry >= 1 ? g : h;
  let acc = 0n;
  for (let i = 9; i >= 0; i--) acc = (acc << 13n) | BigInt(reduced[i]!);
  let s = 0n;
  for (let i = 31; i >= 16; i--) s = (s << 8n) | BigInt(key[i]!);
  let tag = (acc + s) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    out[i] = Number(tag & 0xffn);
    tag >>= 8n;
  }
  return out;
}
