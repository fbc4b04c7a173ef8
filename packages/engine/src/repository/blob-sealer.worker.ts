import { parentPort, workerData } from "node:worker_threads";
import { keyFromJson } from "../crypto/key.ts";
import { isEngineError } from "../errors.ts";
import { freeNow } from "../memory.ts";
import { decodeBlob } from "./blob-decode.ts";
import { sharedTableHas } from "./blob-ids.ts";
import {
  type DecodeReply,
  type DecodeRequest,
  type SealReply,
  type SealRequest,
  sealBatch,
  transferable,
} from "./blob-sealer.ts";

// One sealing thread of WorkerSealer: a batch of plaintexts in, their ids and sealed blobs out (but for those the
// shared table of known ids holds), each direction as one buffer moved rather than copied. Or, for a restore, blobs
// of a pack in shared memory in, their plaintexts out.

const key = keyFromJson((workerData as { key: string }).key);

function decode({ job, sealed, blobs }: DecodeRequest): void {
  const bytes = new Uint8Array(sealed);
  const results: NonNullable<DecodeReply["blobs"]> = [];
  const plaintexts: Buffer[] = [];
  for (const { id, offset, length, pack: packId, uncompressedLength } of blobs) {
    const location = {
      type: "data" as const,
      id,
      offset,
      length,
      pack: packId,
      ...(uncompressedLength !== undefined ? { uncompressedLength } : {}),
    };
    try {
      const plaintext = decodeBlob(key, id, location, bytes.subarray(offset, offset + length));
      plaintexts.push(plaintext);
      results.push({ length: plaintext.length });
    } catch (error) {
      // Authenticated bytes that do not decompress were stored wrong: damage all the same, named as such.
      if (isEngineError(error)) results.push({ code: error.code, message: error.message });
      else results.push({ code: "REPOSITORY_DAMAGED", message: `data blob ${id} in pack ${packId}: ${String(error)}` });
    }
  }
  const buffer = transferable(plaintexts.length === 1 ? (plaintexts[0] as Buffer) : Buffer.concat(plaintexts));
  if (plaintexts.length > 1) for (const plaintext of plaintexts) freeNow(plaintext);
  const reply: DecodeReply = { job, plaintexts: buffer, blobs: results };
  parentPort?.postMessage(reply, [buffer]);
}

parentPort?.on("message", (request: SealRequest | DecodeRequest) => {
  if ("decode" in request) {
    try {
      decode(request);
    } catch (error) {
      const reply: DecodeReply = { job: request.job, error: error instanceof Error ? error.message : String(error) };
      parentPort?.postMessage(reply);
    }
    return;
  }
  const { job, plaintexts, lengths, level, known } = request;
  try {
    const bytes = new Uint8Array(plaintexts);
    let offset = 0;
    const slices = lengths.map((length) => {
      const slice = bytes.subarray(offset, offset + length);
      offset += length;
      return slice;
    });
    const isKnown = known ? (digest: Buffer) => sharedTableHas(known, digest) : undefined;
    const { sealed, blobs } = sealBatch(key, slices, level, isKnown);
    freeNow(bytes);
    const buffer = transferable(sealed);
    const reply: SealReply = { job, sealed: buffer, blobs };
    parentPort?.postMessage(reply, [buffer]);
  } catch (error) {
    const reply: SealReply = { job, error: error instanceof Error ? error.message : String(error) };
    parentPort?.postMessage(reply);
  }
});
