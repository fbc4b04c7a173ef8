import { randomBytes } from "node:crypto";
import { degree, isIrreducible, randomPolynomial } from "../chunker/polynomial.ts";
import type { CryptoKey } from "../crypto/key.ts";
import { open, seal } from "../crypto/seal.ts";
import { EngineError, isEngineError } from "../errors.ts";

// The repository's `config` file (engine-reference §1.5): sealed JSON
//   {"version":2,"id":"<64 hex>","chunker_polynomial":"<hex>"}
// in Go's field order. It is never compressed, even in v2: restic reads it before it knows the repository version
// and would choke on a leading 0x02 (rustic-rs/rustic#499).

export type RepositoryConfig = {
  /** 1 (restic < 0.14 format) or 2 (compression). */
  version: 1 | 2;
  /** 32 random bytes in hex, the repository's identity (caches are keyed by it). */
  id: string;
  /** The irreducible degree-53 polynomial every file is chunked with (chunker/). */
  chunkerPolynomial: bigint;
};

const idPattern = /^[0-9a-f]{64}$/;

/** A fresh config for a new v2 repository: random id, random irreducible polynomial. */
export function newConfig(): RepositoryConfig {
  return { version: 2, id: randomBytes(32).toString("hex"), chunkerPolynomial: randomPolynomial() };
}

/** Checks a config the way restic does (version 1 or 2, irreducible polynomial) plus what our chunker needs. */
export function assertValidConfig(config: RepositoryConfig): void {
  if (config.version !== 1 && config.version !== 2) {
    throw new EngineError(
      "INVALID_CONFIG",
      `repository version ${String(config.version)} is not supported (only 1 and 2); a newer restic may have made it`,
    );
  }
  if (typeof config.id !== "string" || config.id.length === 0) {
    throw new EngineError("INVALID_CONFIG", "the repository config has no id");
  }
  const pol = config.chunkerPolynomial;
  if (pol <= 0n || pol >= 1n << 64n) {
    throw new EngineError("INVALID_CONFIG", "the chunker polynomial must be a non-zero 64-bit value");
  }
  if (degree(pol) !== 53) {
    // restic only ever creates degree 53; the 32-bit chunker loop is built for it (chunker/rabin.ts).
    throw new EngineError("INVALID_CONFIG", `the chunker polynomial has degree ${degree(pol)}, expected 53`);
  }
  if (!isIrreducible(pol)) {
    throw new EngineError("INVALID_CONFIG", "the chunker polynomial is not irreducible (restic refuses it too)");
  }
}

/** The config's JSON text, byte for byte as restic's json.Marshal writes it. */
export function configJson(config: RepositoryConfig): string {
  assertValidConfig(config);
  if (!idPattern.test(config.id)) throw new EngineError("INVALID_CONFIG", "a new config id must be 64 lower-case hex");
  // chunker.Pol marshals as fmt.Sprintf("%x"): lower-case hex, no 0x, no padding.
  return `{"version":${config.version},"id":"${config.id}","chunker_polynomial":"${config.chunkerPolynomial.toString(16)}"}`;
}

/** Parses and validates the config's JSON text. */
export function parseConfigJson(text: string | Uint8Array): RepositoryConfig {
  const bytes = typeof text === "string" ? Buffer.from(text) : Buffer.from(text);
  if (bytes[0] === 0x02) {
    throw new EngineError(
      "INVALID_CONFIG",
      "the repository config is compressed; restic cannot read such a repository (it was written by another tool), " +
        "rewrite the config uncompressed",
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new EngineError("INVALID_CONFIG", "the repository config is not JSON", { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new EngineError("INVALID_CONFIG", "the repository config is not a JSON object");
  }
  const raw = parsed as Record<string, unknown>;
  const { version, id, chunker_polynomial: polynomial } = raw;
  if (version !== 1 && version !== 2) {
    throw new EngineError(
      "INVALID_CONFIG",
      `repository version ${JSON.stringify(version)} is not supported (only 1 and 2); a newer restic may have made it`,
    );
  }
  if (typeof id !== "string") throw new EngineError("INVALID_CONFIG", "the repository config has no id");
  // restic parses the polynomial with strconv.ParseUint(s, 16, 64): hex digits of either case, nothing else.
  if (typeof polynomial !== "string" || !/^[0-9a-fA-F]{1,16}$/.test(polynomial)) {
    throw new EngineError("INVALID_CONFIG", `the chunker polynomial ${JSON.stringify(polynomial)} is not 64-bit hex`);
  }
  const config: RepositoryConfig = { version, id, chunkerPolynomial: BigInt(`0x${polynomial}`) };
  assertValidConfig(config);
  return config;
}

/** The sealed `config` file for a repository (uncompressed JSON, see above). */
export function encodeConfig(master: CryptoKey, config: RepositoryConfig | Omit<RepositoryConfig, "version">): Buffer {
  // Callers that only know id and polynomial get version 2, the format we write.
  const complete: RepositoryConfig = { version: 2, ...config };
  return seal(master, Buffer.from(configJson(complete)));
}

/** Opens and validates the `config` file with the master key. */
export function decodeConfig(master: CryptoKey, sealed: Uint8Array): RepositoryConfig {
  let plaintext: Buffer;
  try {
    plaintext = open(master, sealed, "config");
  } catch (error) {
    if (isEngineError(error, "MAC_MISMATCH")) {
      throw new EngineError(
        "MAC_MISMATCH",
        "the repository config does not authenticate with this key: it is damaged, or the key belongs to another repository",
        { cause: error },
      );
    }
    throw error;
  }
  return parseConfigJson(plaintext);
}
