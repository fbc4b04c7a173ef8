import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyringFromEnv, openSecret, rewrapSecret, SecretError, sealSecret } from "./envelope.ts";

const newKey = () => randomBytes(32).toString("base64");

describe("secret envelopes", () => {
  it("round-trips any string and never contains the plaintext", () => {
    const keyring = keyringFromEnv({ E3_SECRET_KEY: newKey() });
    fc.assert(
      fc.property(fc.string({ minLength: 4 }), (secret) => {
        const sealed = sealSecret(keyring, secret, "repo_password_enc");
        expect(sealed).not.toContain(secret);
        expect(openSecret(keyring, sealed, "repo_password_enc")).toBe(secret);
      }),
    );
  });

  it("seals the same secret differently each time (random IV)", () => {
    const keyring = keyringFromEnv({ E3_SECRET_KEY: newKey() });
    expect(sealSecret(keyring, "s3cret", "c")).not.toBe(sealSecret(keyring, "s3cret", "c"));
  });

  it("refuses a ciphertext moved to another column or tampered with", () => {
    const keyring = keyringFromEnv({ E3_SECRET_KEY: newKey() });
    const sealed = sealSecret(keyring, "AKIA-EXAMPLE", "dest_secret_key_enc");
    expect(() => openSecret(keyring, sealed, "dest_access_key_enc")).toThrow(/failed authentication/);
    const body = Buffer.from(sealed.split(".")[2]!, "base64url");
    body[body.length - 20]! ^= 1;
    const tampered = `${sealed.split(".").slice(0, 2).join(".")}.${body.toString("base64url")}`;
    expect(() => openSecret(keyring, tampered, "dest_secret_key_enc")).toThrow(SecretError);
    expect(() => openSecret(keyring, "plain text", "dest_secret_key_enc")).toThrow(/not an e3 secret envelope/);
  });

  it("rotates: old envelopes open with a retired key and rewrap to the current one", () => {
    const oldKey = newKey();
    const before = keyringFromEnv({ E3_SECRET_KEY: oldKey });
    const sealed = sealSecret(before, "password", "repo_password_enc");

    const after = keyringFromEnv({ E3_SECRET_KEY: newKey(), E3_SECRET_KEYS_RETIRED: oldKey });
    expect(openSecret(after, sealed, "repo_password_enc")).toBe("password");
    const rewrapped = rewrapSecret(after, sealed, "repo_password_enc");
    expect(rewrapped.split(".")[1]).toBe(after.current.id);
    expect(rewrapSecret(after, rewrapped, "repo_password_enc")).toBe(rewrapped);

    const withoutOld = keyringFromEnv({ E3_SECRET_KEY: after.current.key.toString("base64") });
    expect(openSecret(withoutOld, rewrapped, "repo_password_enc")).toBe("password");
    expect(() => openSecret(withoutOld, sealed, "repo_password_enc")).toThrow(/add it to E3_SECRET_KEYS_RETIRED/);
  });

  it("names a missing or malformed key", () => {
    expect(() => keyringFromEnv({})).toThrow(/E3_SECRET_KEY is not set/);
    expect(() => keyringFromEnv({ E3_SECRET_KEY: "short" })).toThrow(/E3_SECRET_KEY must be 32 random bytes/);
    expect(() => keyringFromEnv({ E3_SECRET_KEY: newKey(), E3_SECRET_KEYS_RETIRED: "x" })).toThrow(
      /E3_SECRET_KEYS_RETIRED\[0\]/,
    );
  });
});
