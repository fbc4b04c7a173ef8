import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { poly1305 } from "./poly1305.ts";

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
        "01000000000000000000000000000000" + "00".repeat(16),
        "ffffffffffffffffffffffffffffffff" + "f0ffffffffffffffffffffffffffffff" + "11000000000000000000000000000000",
        "05000000000000000000000000000000",
      ],
      [
        "02000000000000000000000000000000" + "00".repeat(16),
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
});
