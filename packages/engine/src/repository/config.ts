import { z } from "zod";
import { isIrreducible } from "../chunker/polynomial.ts";
import { type CryptoKey, open } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";

// The repository's `config` file: sealed JSON, never compressed even in v2 (old restic versions must read it).

const configSchema = z.object({
  version: z.union([z.literal(1), z.literal(2)]),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  chunker_polynomial: z.string().regex(/^[0-9a-f]+$/),
});

export type RepositoryConfig = { version: 1 | 2; id: string; chunkerPolynomial: bigint };

export function decodeConfig(key: CryptoKey, sealed: Uint8Array): RepositoryConfig {
  const parsed = configSchema.safeParse(JSON.parse(open(key, sealed, "config").toString("utf8")));
  if (!parsed.success)
    throw new EngineError("INVALID_CONFIG", `the repository config is not valid: ${parsed.error.message}`);
  const chunkerPolynomial = BigInt(`0x${parsed.data.chunker_polynomial}`);
  if (!isIrreducible(chunkerPolynomial)) {
    throw new EngineError("INVALID_CONFIG", "the repository's chunker polynomial is not irreducible");
  }
  return { version: parsed.data.version, id: parsed.data.id, chunkerPolynomial };
}
