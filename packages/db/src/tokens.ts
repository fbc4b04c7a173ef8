import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

// Agent and enrollment tokens: 256 random bits shown once, stored as SHA-256 (a fast hash is right for random
// tokens of this size; a password KDF would only slow every agent request), compared in constant time.

export function generateToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function tokenMatchesHash(token: string, expectedHash: string): boolean {
  const actual = Buffer.from(hashToken(token), "hex");
  const expected = Buffer.from(expectedHash, "hex");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
