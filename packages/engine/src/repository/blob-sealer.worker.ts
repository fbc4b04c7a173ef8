import { parentPort, workerData } from "node:worker_threads";
import { keyFromJson } from "../crypto/key.ts";
import { blobId, sealBlob, transferable } from "./blob-sealer.ts";

// One sealing thread of WorkerSealer: plaintext in, its id and sealed blob out, both moved rather than copied.

const key = keyFromJson((workerData as { key: string }).key);

parentPort?.on(
  "message",
  ({ job, plaintext, level }: { job: number; plaintext: ArrayBuffer; level: number | null }) => {
    try {
      const bytes = new Uint8Array(plaintext);
      const { sealed, uncompressedLength } = sealBlob(key, bytes, level);
      const buffer = transferable(sealed);
      parentPort?.postMessage({ job, id: blobId(bytes), sealed: buffer, uncompressedLength }, [buffer]);
    } catch (error) {
      parentPort?.postMessage({ job, error: error instanceof Error ? error.message : String(error) });
    }
  },
);
