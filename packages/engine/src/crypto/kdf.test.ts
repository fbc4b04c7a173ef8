import { describe, expect, it } from "vitest";
import { EngineError } from "../errors.ts";
import { deriveUserKey } from "./kdf.ts";

describe("deriveUserKey (scrypt)", () => {
  it("splits RFC 7914's scrypt vector into encryption key, MAC k and MAC r", async () => {
    const key = await deriveUserKey("password", Buffer.from("NaCl"), { N: 1024, r: 8, p: 16 });
    const derived = Buffer.concat([key.encrypt, key.macK, key.macR]).toString("hex");
    expect(derived).toBe(
      "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162" +
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
    );
    expect([key.encrypt.length, key.macK.length, key.macR.length]).toEqual([32, 16, 16]);
  });

  it("handles restic's usual N = 32768, r = 8 (more than Node's default scrypt memory)", async () => {
    const key = await deriveUserKey("pw", Buffer.alloc(64, 7), { N: 32_768, r: 8, p: 1 });
    expect(key.encrypt.length).toBe(32);
  });

  it("refuses parameters that are not scrypt's or would exhaust memory", async () => {
    for (const parameters of [
      { N: 1000, r: 8, p: 1 },
      { N: 0, r: 8, p: 1 },
      { N: 1024, r: 0, p: 1 },
      { N: 2 ** 24, r: 8, p: 1 },
    ]) {
      await expect(deriveUserKey("pw", Buffer.alloc(64), parameters)).rejects.toThrow(EngineError);
    }
  });
});
