import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { type CryptoKey, open, seal } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";

// "Unpacked" files (index, snapshot, lock): sealed `0x02 || zstd(JSON)` in repository v2; restic still accepts
// (and old repositories hold) plain JSON starting with `{` or `[` (engine-reference §1.6).

const compressedJson = 0x02;

export function encodeUnpacked(key: CryptoKey, document: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(document));
  return seal(key, Buffer.concat([Buffer.of(compressedJson), zstdCompressSync(json)]));
}

export function decodeUnpacked(key: CryptoKey, sealed: Uint8Array, what: string): unknown {
  const plaintext = open(key, sealed, what);
  const first = plaintext[0];
  let json: Buffer;
  if (first === compressedJson) json = zstdDecompressSync(plaintext.subarray(1));
  else if (first === 0x7b || first === 0x5b) json = plaintext;
  else throw new EngineError("INVALID_CIPHERTEXT", `${what} has an unsupported encoding (first byte ${first})`);
  return JSON.parse(json.toString("utf8"));
}
