import { parentPort, workerData } from "node:worker_threads";
import { keyFromJson } from "../crypto/key.ts";
import { identifiedBlob, type SealReply, type SealRequest, transferable } from "./blob-sealer.ts";

// One sealing thread of WorkerSealer: a batch of plaintexts in, their ids and sealed blobs out, each direction as
// one buffer moved rather than copied.

const key = keyFromJson((workerData as { key: string }).key);

parentPort?.on("message", ({ job, plaintexts, lengths, level }: SealRequest) => {
  try {
    const bytes = new Uint8Array(plaintexts);
    let offset = 0;
    const blobs = lengths.map((length) => {
      const blob = identifiedBlob(key, bytes.subarray(offset, offset + length), level);
      offset += length;
      return blob;
    });
    const buffer = transferable(
      blobs.length === 1 ? (blobs[0]?.sealed as Buffer) : Buffer.concat(blobs.map((blob) => blob.sealed)),
    );
    const reply: SealReply = {
      job,
      sealed: buffer,
      blobs: blobs.map(({ id, sealed, uncompressedLength }) => ({
        id,
        length: sealed.length,
        ...(uncompressedLength !== undefined ? { uncompressedLength } : {}),
      })),
    };
    parentPort?.postMessage(reply, [buffer]);
  } catch (error) {
    const reply: SealReply = { job, error: error instanceof Error ? error.message : String(error) };
    parentPort?.postMessage(reply);
  }
});
