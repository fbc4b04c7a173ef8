import { createCipheriv, createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Poly1305, poly1305 } from "./poly1305.ts";

const hex = (value: string) => Buffer.from(value.replace(/\s/g, ""), "hex");

/** The definition, in BigInt: slow and obviously right, for cross-checking. */
function poly1305Reference(key: Uint8Array, message: Uint8Array): Buffer {
  const le = (bytes: Uint8Array) => bytes.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = le(key.subarray(16, 32));
  const p = (1n << 130n) - 5n;
  let h = 0n;
  for (let offset = 0; offset < message.length; offset += 16) {
    const block = message.subarray(offset, offset + 16);
    h = ((h + le(block) + (1n << BigInt(8 * block.length))) * r) % p;
  }
  let tag = (h + s) & ((1n << 128n) - 1n);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) {
    out[i] = Number(tag & 0xffn);
    tag >>= 8n;
  }
  return out;
}

describe("poly1305", () => {
  it("matches RFC 8439 §2.5.2", () => {
    const key = hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
    const message = Buffer.from("Cryptographic Forum Research Group");
    expect(Buffer.from(poly1305(key, message)).toString("hex")).toBe("a8061dc1305136c6c22b8baf0c0127a9");
  });

  it("matches edge cases where h lands near 2^130 - 5 (RFC 8439 appendix A.3 #7-#11)", () => {
    const cases = [
      [
        `01000000000000000000000000000000${"00".repeat(16)}`,
        "ffffffffffffffffffffffffffffffff" + "f0ffffffffffffffffffffffffffffff" + "11000000000000000000000000000000",
        "05000000000000000000000000000000",
      ],
      [
        `02000000000000000000000000000000${"00".repeat(16)}`,
        "ffffffffffffffffffffffffffffffff",
        "03000000000000000000000000000000",
      ],
      [
        "02000000000000000000000000000000" + "ffffffffffffffffffffffffffffffff",
        "02000000000000000000000000000000",
        "03000000000000000000000000000000",
      ],
    ] as const;
    for (const [key, message, tag] of cases) {
      expect(Buffer.from(poly1305(hex(key), hex(message))).toString("hex")).toBe(tag);
    }
  });

  it("agrees with the BigInt definition on random keys and messages of every length", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        (key, message) => {
          expect(Buffer.from(poly1305(key, message))).toEqual(poly1305Reference(key, message));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("agrees on long messages with extreme bytes", () => {
    for (const fill of [0x00, 0xff]) {
      const key = createHash("sha256").update(String(fill)).digest();
      const message = Buffer.alloc(4096 + 7, fill);
      expect(Buffer.from(poly1305(key, message))).toEqual(poly1305Reference(key, message));
    }
    const key = Buffer.alloc(32, 0xff);
    const message = randomBytes(1000);
    expect(Buffer.from(poly1305(key, message))).toEqual(poly1305Reference(key, message));
  });

  it("matches the Poly1305-AES vector restic's crypto tests use (s = AES-128_k(nonce))", () => {
    const aes = createCipheriv("aes-128-ecb", hex("ec074c835580741701425b623235add6"), null).setAutoPadding(false);
    const s = aes.update(hex("fb447350c4e868c52ac3275cf9d4327e"));
    const key = Buffer.concat([hex("851fc40c3467ac0be05cc20404f3f700"), s]);
    expect(poly1305(key, hex("f3f6")).toString("hex")).toBe("f4c633c3044fc145f84f335cb81953de");
  });

  it("stays exact at the limits: the largest clamped r and all-0xff messages of many lengths", () => {
    // Largest possible limbs everywhere: this is where a too-optimistic bound on the double arithmetic would show.
    const key = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.alloc(16, 0xff)]);
    for (const length of [0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 64, 1000, 4096, 65_537]) {
      const message = Buffer.alloc(length, 0xff);
      expect(poly1305(key, message), `length ${length}`).toEqual(poly1305Reference(key, message));
    }
  });

  it("gives the same tag however the message is split across update() calls", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.nat({ max: 70 }), { maxLength: 12 }),
        (key, message, cuts) => {
          const mac = new Poly1305(key);
          let offset = 0;
          for (const cut of cuts) {
            mac.update(message.subarray(offset, offset + cut));
            offset = Math.min(message.length, offset + cut);
          }
          mac.update(message.subarray(offset));
          expect(mac.digest()).toEqual(poly1305Reference(key, message));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads messages at any byte offset (blobs sit unaligned inside packs)", () => {
    const key = randomBytes(32);
    const backing = randomBytes(300);
    for (let offset = 0; offset < 8; offset++) {
      const message = backing.subarray(offset, offset + 257);
      expect(poly1305(key, message)).toEqual(poly1305Reference(key, message));
    }
  });

  it("refuses a key of the wrong size and a second digest", () => {
    expect(() => poly1305(Buffer.alloc(16), Buffer.alloc(0))).toThrow(RangeError);
    const mac = new Poly1305(randomBytes(32));
    mac.digest();
    expect(() => mac.digest()).toThrow();
    expect(() => mac.update(Buffer.alloc(1))).toThrow();
  });
});
