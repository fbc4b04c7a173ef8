import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EngineError } from "../errors.ts";
import { type CryptoKey, open, seal } from "./seal.ts";

const hex = (value: string) => Buffer.from(value.replace(/\s/g, ""), "hex");

describe("seal and open (restic's AES-256-CTR + Poly1305-AES)", () => {
  it("opens restic's test vector (crypto_int_test.go)", () => {
    const key: CryptoKey = {
      encrypt: hex("303e8687b1d7db18421bdc6bb8588ccadac4d59ee87b8ff70c44e635790cafef"),
      macK: hex("ef4d8824cb80b2bcc5fbff8a9b12a42c"),
      macR: hex("cc8d4b948ee0ebfe1d415de921d10353"),
    };
    const sealed = hex(
      "69fb41c62d12def4593bd71757138606 338f621aeaeb39da0fe4f99233f8037a54ea 63338a813bcf3f75d8c3cc75dddf8750",
    );
    expect(open(key, sealed).toString()).toBe("Dies ist ein Test!");
  });

  it("round-trips, and refuses any flipped bit with MAC_MISMATCH", () => {
    const key: CryptoKey = { encrypt: randomBytes(32), macK: randomBytes(16), macR: randomBytes(16) };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (plaintext, flip) => {
        const sealed = seal(key, plaintext);
        expect(open(key, sealed)).toEqual(Buffer.from(plaintext));
        const damaged = Buffer.from(sealed);
        damaged[flip % damaged.length]! ^= 1 << (flip % 8);
        expect(() => open(key, damaged)).toThrow(EngineError);
      }),
      { numRuns: 200 },
    );
  });
});
