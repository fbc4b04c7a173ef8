import { describe, expect, it } from "vitest";
import { EngineError } from "../errors.ts";
import { generateKey, isValidKey, keyFromJson, keyToJson } from "./key.ts";

describe("master key", () => {
  it("is random, complete and valid", () => {
    const a = generateKey();
    const b = generateKey();
    expect(isValidKey(a)).toBe(true);
    expect([a.encrypt.length, a.macK.length, a.macR.length]).toEqual([32, 16, 16]);
    expect(a.encrypt.equals(b.encrypt)).toBe(false);
  });

  it("has Go's JSON form, field order mac{k,r} then encrypt, standard base64", () => {
    const key = {
      encrypt: Buffer.alloc(32, 0xfb),
      macK: Buffer.alloc(16, 1),
      macR: Buffer.alloc(16, 2),
    };
    expect(keyToJson(key)).toBe(
      `{"mac":{"k":"AQEBAQEBAQEBAQEBAQEBAQ==","r":"AgICAgICAgICAgICAgICAg=="},"encrypt":"${"+/v7".repeat(10)}+/s="}`,
    );
    expect(keyFromJson(keyToJson(key))).toEqual(key);
    const random = generateKey();
    expect(keyFromJson(Buffer.from(keyToJson(random)))).toEqual(random);
  });

  it("refuses incomplete, malformed or all-zero keys with INVALID_KEY", () => {
    const good = JSON.parse(keyToJson(generateKey())) as { mac: { k: string; r: string }; encrypt: string };
    const bad = [
      "not json",
      "[]",
      JSON.stringify({ ...good, encrypt: undefined }),
      JSON.stringify({ ...good, encrypt: "!!!!" }),
      JSON.stringify({ ...good, mac: { ...good.mac, k: Buffer.alloc(15, 1).toString("base64") } }),
      JSON.stringify({ ...good, mac: { ...good.mac, r: Buffer.alloc(16).toString("base64") } }),
    ];
    for (const json of bad) {
      expect(() => keyFromJson(json), json).toThrow(EngineError);
      try {
        keyFromJson(json);
      } catch (error) {
        expect((error as EngineError).code).toBe("INVALID_KEY");
      }
    }
  });
});
