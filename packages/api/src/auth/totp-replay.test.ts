import { describe, expect, it } from "vitest";
import { hotp, matchingTotpStep, totpKey, totpPeriodSeconds } from "./totp-replay.ts";

// RFC 4226 appendix D and RFC 6238 appendix B (SHA-1) vectors, with the shared secret "12345678901234567890".
const rfcKey = new TextEncoder().encode("12345678901234567890");

describe("hotp", () => {
  it("computes RFC 4226's codes", () => {
    expect([0, 1, 2, 9].map((counter) => hotp(rfcKey, counter))).toEqual(["755224", "287082", "359152", "520489"]);
  });

  it("computes RFC 6238's SHA-1 codes (8 digits) for their times", () => {
    expect(hotp(rfcKey, Math.floor(59 / 30), 8)).toBe("94287082");
    expect(hotp(rfcKey, Math.floor(1111111109 / 30), 8)).toBe("07081804");
    expect(hotp(rfcKey, Math.floor(20000000000 / 30), 8)).toBe("65353130");
  });
});

describe("matchingTotpStep", () => {
  const now = 1_800_000_015_000;
  const current = Math.floor(now / 1000 / totpPeriodSeconds);

  it("names the step of a code from the previous, current or next 30 seconds", () => {
    for (const step of [current - 1, current, current + 1]) {
      expect(matchingTotpStep(rfcKey, hotp(rfcKey, step), now)).toBe(step);
    }
  });

  it("matches no step for a code two steps away or a wrong code", () => {
    expect(matchingTotpStep(rfcKey, hotp(rfcKey, current - 2), now)).toBeNull();
    expect(matchingTotpStep(rfcKey, hotp(rfcKey, current + 2), now)).toBeNull();
    const wrong = hotp(rfcKey, current) === "000000" ? "111111" : "000000";
    expect(matchingTotpStep(rfcKey, wrong, now)).toBeNull();
  });
});

describe("totpKey", () => {
  it("decodes a base32-marked secret and takes any other as UTF-8 bytes", () => {
    expect(Buffer.from(totpKey("base32:GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))).toEqual(Buffer.from(rfcKey));
    expect(Buffer.from(totpKey("12345678901234567890"))).toEqual(Buffer.from(rfcKey));
  });

  it("refuses a base32-marked secret with a character outside the alphabet", () => {
    expect(() => totpKey("base32:GEZ1")).toThrow(/not base32/);
  });
});
