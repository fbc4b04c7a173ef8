import { describe, expect, it } from "vitest";
import { generateKey } from "../crypto/key.ts";
import { open, seal } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";
import { configJson, decodeConfig, encodeConfig, newConfig, parseConfigJson, type RepositoryConfig } from "./config.ts";

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof EngineError ? `${error.code}: ${error.message}` : String(error);
  }
  return "no error";
};

describe("repository config", () => {
  const config: RepositoryConfig = { version: 2, id: "ab".repeat(32), chunkerPolynomial: 0x3da3358b4dc173n };

  it("is restic's JSON, sealed but never compressed", () => {
    expect(configJson(config)).toBe(`{"version":2,"id":"${"ab".repeat(32)}","chunker_polynomial":"3da3358b4dc173"}`);
    const key = generateKey();
    const sealed = encodeConfig(key, config);
    expect(open(key, sealed)[0]).toBe("{".charCodeAt(0));
    expect(decodeConfig(key, sealed)).toEqual(config);
    expect(
      decodeConfig(key, encodeConfig(key, { id: config.id, chunkerPolynomial: config.chunkerPolynomial })),
    ).toEqual(config);
  });

  it("makes fresh configs with a random id and an irreducible degree-53 polynomial", () => {
    const a = newConfig();
    const b = newConfig();
    expect(a.version).toBe(2);
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.id).not.toBe(b.id);
    expect(parseConfigJson(configJson(a))).toEqual(a);
  });

  it("reads version 1 and upper-case hex as restic does", () => {
    expect(parseConfigJson(`{"version":1,"id":"x","chunker_polynomial":"3DA3358B4DC173"}`)).toEqual({
      version: 1,
      id: "x",
      chunkerPolynomial: 0x3da3358b4dc173n,
    });
  });

  it("explains what is wrong with a bad config", () => {
    const cases: [string, RegExp][] = [
      ["not json", /not JSON/],
      ["[]", /not a JSON object/],
      [`{"version":3,"id":"x","chunker_polynomial":"3da3358b4dc173"}`, /version 3 is not supported/],
      [`{"version":2,"chunker_polynomial":"3da3358b4dc173"}`, /no id/],
      [`{"version":2,"id":"x","chunker_polynomial":"0x3da3358b4dc173"}`, /not 64-bit hex/],
      [`{"version":2,"id":"x","chunker_polynomial":"38f1e565e288df"}`, /not irreducible/],
      [`{"version":2,"id":"x","chunker_polynomial":"7"}`, /degree 2, expected 53/],
      [`\u0002(zstd)`, /compressed/],
    ];
    for (const [text, message] of cases) {
      const result = codeOf(() => parseConfigJson(text));
      expect(result, text).toMatch(/^INVALID_CONFIG: /);
      expect(result, text).toMatch(message);
    }
  });

  it("reports a config sealed with another key as MAC_MISMATCH", () => {
    const sealed = seal(generateKey(), Buffer.from(configJson(config)));
    expect(codeOf(() => decodeConfig(generateKey(), sealed))).toMatch(/^MAC_MISMATCH/);
  });
});
