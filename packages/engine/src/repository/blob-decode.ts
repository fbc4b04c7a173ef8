import { createHash } from "node:crypto";
import { type CryptoKey, open } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";
import { freeNow } from "../memory.ts";
import type { BlobLocation } from "./reader.ts";
import { decompressFrame } from "./zstd.ts";

// Apart from the reader so that the sealing threads, which decode a restore's blobs, load only this and not the
// reader's trees, index and snapshot parsing with their schema library: a thread's heap holds what it loads.

/**
 * A blob's plaintext from its sealed bytes (already loaded, e.g. with the rest of its pack): authenticated,
 * decompressed and checked against its id, MAC_MISMATCH when any of that fails.
 */
export function decodeBlob(key: CryptoKey, id: string, location: BlobLocation, sealed: Uint8Array): Buffer {
  const what = `${location.type} blob ${id} in pack ${location.pack}`;
  const payload = open(key, sealed, what);
  let plaintext = payload;
  if (location.uncompressedLength !== undefined) {
    try {
      plaintext = decompressFrame(payload, location.uncompressedLength);
    } catch (error) {
      // Authenticated bytes that do not decompress to what the index says were stored wrong: damage all the same.
      throw new EngineError("REPOSITORY_DAMAGED", `${what}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      freeNow(payload);
    }
  }
  if (createHash("sha256").update(plaintext).digest("hex") !== id) {
    throw new EngineError("MAC_MISMATCH", `${what} does not match its id`);
  }
  return plaintext;
}
