import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EngineError } from "../errors.ts";
import { type CryptoKey, generateKey } from "./key.ts";
import { open, seal, sealOverhead, verifySealed } from "./seal.ts";

const hex = (value: string) => Buffer.from(value.replace(/\s/g, ""), "hex");

// restic's crypto_int_test.go vector: key, and IV || 18-byte ciphertext || MAC for "Dies ist ein Test!".
const vectorKey: CryptoKey = {
  encrypt: hex("303e8687b1d7db18421bdc6bb8588ccadac4d59ee87b8ff70c44e635790cafef"),
  macK: hex("ef4d8824cb80b2bcc5fbff8a9b12a42c"),
  macR: hex("cc8d4b948ee0ebfe1d415de921d10353"),
};
const vectorSealed = hex(
  "69fb41c62d12def4593bd71757138606 338f621aeaeb39da0fe4f99233f8037a54ea 63338a813bcf3f75d8c3cc75dddf8750",
);

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return error instanceof EngineError ? error.code : `not an EngineError: ${String(error)}`;
  }
  return undefined;
};

describe("seal and open (restic's AES-256-CTR + Poly1305-AES)", () => {
  it("opens restic's test vector (crypto_int_test.go)", () => {
    expect(open(vectorKey, vectorSealed).toString()).toBe("Dies ist ein Test!");
  });

  it("seals restic's vector byte for byte when given its IV", () => {
    expect(seal(vectorKey, Buffer.from("Dies ist ein Test!"), vectorSealed.subarray(0, 16))).toEqual(vectorSealed);
  });

  it("round-trips, and refuses any flipped bit with MAC_MISMATCH (or an all-zero IV)", () => {
    const key = generateKey();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (plaintext, flip) => {
        const sealed = seal(key, plaintext);
        expect(sealed.length).toBe(plaintext.length + sealOverhead);
        expect(open(key, sealed)).toEqual(Buffer.from(plaintext));
        const damaged = Buffer.from(sealed);
        damaged[flip % damaged.length]! ^= 1 << (flip % 8);
        expect(["MAC_MISMATCH", "INVALID_CIPHERTEXT"]).toContain(codeOf(() => open(key, damaged)));
      }),
      { numRuns: 200 },
    );
  });

  it("verifies without decrypting exactly what open accepts", () => {
    const key = generateKey();
    const sealed = seal(key, randomBytes(1000));
    expect(() => verifySealed(key, sealed)).not.toThrow();
    for (const at of [0, 20, sealed.length - 1]) {
      const flipped = Buffer.from(sealed);
      flipped[at]! ^= 1;
      expect(() => verifySealed(key, flipped, "blob x")).toThrow(/blob x failed authentication/);
      expect(() => open(key, flipped)).toThrow(EngineError);
    }
    expect(() => verifySealed(generateKey(), sealed)).toThrow(/failed authentication/);
  });

  it("does not open data sealed with another key", () => {
    expect(codeOf(() => open(generateKey(), seal(generateKey(), Buffer.from("secret"))))).toBe("MAC_MISMATCH");
  });

  it("refuses input that cannot be sealed data: too short, or an all-zero IV", () => {
    expect(codeOf(() => open(vectorKey, Buffer.alloc(31, 1)))).toBe("INVALID_CIPHERTEXT");
    const zeroIv = Buffer.from(vectorSealed);
    zeroIv.fill(0, 0, 16);
    expect(codeOf(() => open(vectorKey, zeroIv))).toBe("INVALID_CIPHERTEXT");
    expect(codeOf(() => seal(vectorKey, Buffer.from("x"), Buffer.alloc(16)))).toBe("INVALID_CIPHERTEXT");
  });

  it("never writes an all-zero IV and uses a fresh IV each time", () => {
    const key = generateKey();
    const ivs = new Set<string>();
    for (let i = 0; i < 100; i++) ivs.add(seal(key, Buffer.alloc(0)).subarray(0, 16).toString("hex"));
    expect(ivs.size).toBe(100);
    expect(ivs.has("00".repeat(16))).toBe(false);
  });

  it("refuses keys restic would refuse (wrong sizes, all-zero parts)", () => {
    expect(codeOf(() => seal({ ...vectorKey, encrypt: randomBytes(16) }, Buffer.alloc(1)))).toBe("INVALID_KEY");
    expect(codeOf(() => open({ ...vectorKey, macR: Buffer.alloc(16) }, vectorSealed))).toBe("INVALID_KEY");
  });
});
