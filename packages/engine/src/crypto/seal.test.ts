import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EngineError } from "../errors.ts";
import { type CryptoKey, generateKey } from "./key.ts";
import { open, seal, sealAll, sealOverhead, verifySealed } from "./seal.ts";

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

describe("sealAll (a batch in one CTR pass)", () => {
  /** The sealed pieces of a sealAll result, given the plaintext lengths. */
  const pieces = (sealed: Buffer, lengths: number[]) => {
    let at = 0;
    return lengths.map((length) => {
      const piece = sealed.subarray(at, at + length + sealOverhead);
      at += length + sealOverhead;
      return piece;
    });
  };

  it("gives each plaintext a piece that open() restores, each with its own IV", () => {
    const key = generateKey();
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 12 }), (plaintexts) => {
        const sealed = sealAll(key, plaintexts);
        const split = pieces(
          sealed,
          plaintexts.map((plaintext) => plaintext.length),
        );
        expect(sealed.length).toBe(plaintexts.reduce((sum, plaintext) => sum + plaintext.length + sealOverhead, 0));
        for (const [i, piece] of split.entries()) expect(open(key, piece)).toEqual(Buffer.from(plaintexts[i]!));
        expect(new Set(split.map((piece) => piece.subarray(0, 16).toString("hex"))).size).toBe(plaintexts.length);
      }),
    );
  });

  it("seals restic's vector byte for byte as the first of a batch, and the next from its IV plus two blocks", () => {
    const iv = vectorSealed.subarray(0, 16);
    const second = Buffer.from("the second plaintext");
    const sealed = sealAll(vectorKey, [Buffer.from("Dies ist ein Test!"), second], iv);
    const [first, next] = pieces(sealed, [18, second.length]) as [Buffer, Buffer];
    expect(first).toEqual(vectorSealed);
    // 18 bytes take two 16-byte blocks: the second plaintext's IV is the first one + 2 (the last byte 06 -> 08).
    const advanced = Buffer.from(iv);
    advanced[15] = 0x08;
    expect(next).toEqual(seal(vectorKey, second, advanced));
  });

  it("carries across bytes of the counter, and falls back to random IVs rather than hand out the all-zero one", () => {
    const key = generateKey();
    const carried = sealAll(key, [Buffer.alloc(16, 1), Buffer.alloc(5, 2)], hex(`${"00".repeat(12)}00ffffff`));
    const [one, two] = pieces(carried, [16, 5]) as [Buffer, Buffer];
    expect(one.subarray(0, 16).toString("hex")).toBe(`${"00".repeat(12)}00ffffff`);
    expect(two.subarray(0, 16).toString("hex")).toBe(`${"00".repeat(12)}01000000`);
    expect(open(key, two)).toEqual(Buffer.alloc(5, 2));
    // ff..ff + 1 block wraps to 00..00, which restic refuses: every plaintext of the batch gets a random IV instead.
    const top = Buffer.alloc(16, 0xff);
    const wrapped = pieces(sealAll(key, [Buffer.alloc(16, 1), Buffer.alloc(5, 2)], top), [16, 5]);
    expect(wrapped[0]!.subarray(0, 16).equals(top)).toBe(false);
    for (const piece of wrapped) expect(piece.subarray(0, 16).equals(Buffer.alloc(16))).toBe(false);
    expect(wrapped.map((piece) => open(key, piece))).toEqual([Buffer.alloc(16, 1), Buffer.alloc(5, 2)]);
  });
});
