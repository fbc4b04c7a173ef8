import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { keyToJson } from "../crypto/key.ts";
import { type CryptoKey, seal, sealAll, sealOverhead } from "../crypto/seal.ts";
import { EngineError, type EngineErrorCode } from "../errors.ts";
import { freeNow } from "../memory.ts";
import type { BlobIdTable } from "./blob-ids.ts";
import { compressFrame } from "./zstd.ts";

// Hashing, compressing and encrypting blobs is most of a backup's CPU (SHA-256, zstd, AES-CTR, and Poly1305, which is
// JavaScript), so it runs on worker threads while the main thread reads and chunks. A sealed blob is what goes into a pack:
// IV || ciphertext || MAC of the zstd frame when zstd shrinks the blob, else of the plaintext (restic reads both).
// The same threads decode blobs for a restore (MAC, decryption, zstd, SHA-256 against the id): `decode` reads them
// from a pack shared with the thread, not copied to it.

export type SealedBlob = { sealed: Buffer; uncompressedLength?: number };
/** zstd level, or null to store the blob uncompressed. */
export type CompressionLevel = number | null;

/** A sealed blob with its id, the SHA-256 of its plaintext. */
export type IdentifiedBlob = SealedBlob & { id: string };
/** A blob found in the known ids before it was sealed: only its id comes back. */
export type KnownBlob = { id: string; known: true };

export interface BlobSealer {
  /**
   * Seals a batch of blobs (small blobs travel together: one thread hop for many). Those whose id `known` holds are
   * not sealed: the repository has them.
   */
  seal(plaintexts: Buffer[], level: CompressionLevel, known?: BlobIdTable): Promise<(IdentifiedBlob | KnownBlob)[]>;
  close(): Promise<void>;
}

export function blobId(plaintext: Uint8Array): string {
  return createHash("sha256").update(plaintext).digest("hex");
}

export function sealBlob(key: CryptoKey, plaintext: Uint8Array, level: CompressionLevel): SealedBlob {
  const { payload, uncompressedLength } = payloadOf(plaintext, level);
  const sealed = seal(key, payload);
  if (uncompressedLength === undefined) return { sealed };
  freeNow(payload);
  return { sealed, uncompressedLength };
}

/** What gets sealed: the zstd frame when it is smaller than the plaintext (with the plaintext's length), else it. */
function payloadOf(
  plaintext: Uint8Array,
  level: CompressionLevel,
): { payload: Uint8Array; uncompressedLength?: number } {
  if (level !== null && plaintext.length > 0) {
    const compressed = compressFrame(plaintext, level);
    if (compressed.length < plaintext.length) return { payload: compressed, uncompressedLength: plaintext.length };
  }
  return { payload: plaintext };
}

/**
 * A batch of blobs sealed into one buffer, back to back, with each one's id and sealed length: one CTR pass and one
 * buffer for the whole batch (sealAll) rather than a cipher and an allocation per blob. A blob `isKnown` (given its
 * SHA-256) is left out of the buffer and named known.
 */
export function sealBatch(
  key: CryptoKey,
  plaintexts: Uint8Array[],
  level: CompressionLevel,
  isKnown: (digest: Buffer) => boolean = () => false,
): { sealed: Buffer; blobs: NonNullable<SealReply["blobs"]> } {
  const payloads: Uint8Array[] = [];
  /** The zstd frames among the payloads: garbage once sealed (the plaintexts are the caller's). */
  const frames: Uint8Array[] = [];
  const blobs = plaintexts.map((plaintext): NonNullable<SealReply["blobs"]>[number] => {
    const digest = createHash("sha256").update(plaintext).digest();
    const id = digest.toString("hex");
    if (isKnown(digest)) return { id, known: true };
    const { payload, uncompressedLength } = payloadOf(plaintext, level);
    payloads.push(payload);
    if (uncompressedLength !== undefined) frames.push(payload);
    return {
      id,
      length: payload.length + sealOverhead,
      ...(uncompressedLength !== undefined ? { uncompressedLength } : {}),
    };
  });
  // One blob (a large chunk): seal() encrypts it where it is, without sealAll's copy into the joined buffer.
  const sealed = payloads.length === 1 ? seal(key, payloads[0]!) : sealAll(key, payloads);
  for (const frame of frames) freeNow(frame);
  return { sealed, blobs };
}

/** Seals on the calling thread: for small jobs (trees, tests) where a thread hop costs more than it saves. */
export function inlineSealer(key: CryptoKey): BlobSealer {
  return {
    seal: async (plaintexts, level, known) =>
      plaintexts.map((plaintext) => {
        const id = blobId(plaintext);
        return known?.has(id) ? { id, known: true } : { id, ...sealBlob(key, plaintext, level) };
      }),
    close: async () => {},
  };
}

/**
 * The ArrayBuffer to move to another thread: the Buffer's own when it spans all of it (large Buffers do), else a copy
 * (small Buffers share Node's pool, which cannot be moved).
 */
export function transferable(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.byteLength >= 4096) {
    return bytes.buffer as ArrayBuffer;
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

// The agent's single-file build (apps/agent/build) defines this as the bundled source of blob-sealer.worker.ts: an
// executable has no worker file beside it to start a thread from, so the thread is started from that source instead.
declare const __E3_SEALER_WORKER_SOURCE__: string | undefined;

type Job = { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void };
/** A batch crosses threads as one buffer of blobs back to back plus their lengths, in both directions. */
export type SealRequest = {
  job: number;
  plaintexts: ArrayBuffer;
  lengths: number[];
  level: CompressionLevel;
  /** BlobIdTable.shared: blobs it holds are not sealed. */
  known?: SharedArrayBuffer;
};
export type SealReply = {
  job: number;
  sealed?: ArrayBuffer;
  blobs?: ({ id: string; length: number; uncompressedLength?: number } | KnownBlob)[];
  error?: string;
};

/** A blob to decode: where it sits in the sealed bytes, and what its index entry says of it. */
export type SealedBlobRef = { id: string; offset: number; length: number; pack: string; uncompressedLength?: number };
/** Blobs of one pack to decode from `sealed` (shared memory: the bytes are not copied to the thread). */
export type DecodeRequest = { job: number; decode: true; sealed: SharedArrayBuffer; blobs: SealedBlobRef[] };
/** The plaintexts back to back in `plaintexts`; per blob its length, or why it could not be decoded. */
export type DecodeReply = {
  job: number;
  plaintexts?: ArrayBuffer;
  blobs?: ({ length: number } | { code: string; message: string })[];
  error?: string;
};
type WorkerReply = SealReply | DecodeReply;
/** A decoded blob: its plaintext, or the error (MAC_MISMATCH …) that decoding it raised. */
export type DecodedBlob = { plaintext: Buffer } | { error: EngineError };

/**
 * A fixed pool of worker threads, started on the first blob (an unchanged re-backup never needs them); jobs go to
 * the worker with the fewest in flight.
 */
export class WorkerSealer implements BlobSealer {
  readonly #workers: { worker: Worker; jobs: Map<number, Job> }[] = [];
  readonly #key: CryptoKey;
  readonly #threads: number;
  #nextJob = 0;
  #closed = false;

  /** By default one thread per core but one: the calling thread is busy reading and chunking. */
  constructor(key: CryptoKey, threads = Math.max(1, availableParallelism() - 1)) {
    this.#key = key;
    this.#threads = threads;
  }

  #start(): void {
    const key = this.#key;
    for (let i = 0; i < this.#threads; i++) {
      const workerData = { key: keyToJson(key) };
      const worker =
        typeof __E3_SEALER_WORKER_SOURCE__ === "string"
          ? new Worker(__E3_SEALER_WORKER_SOURCE__, { eval: true, workerData })
          : new Worker(new URL("./blob-sealer.worker.ts", import.meta.url), { workerData });
      const entry = { worker, jobs: new Map<number, Job>() };
      worker.on("message", (reply: WorkerReply) => {
        const job = entry.jobs.get(reply.job);
        if (!job) return;
        entry.jobs.delete(reply.job);
        if (reply.error !== undefined) job.reject(new Error(reply.error));
        else job.resolve(reply);
      });
      const failAll = (error: Error) => {
        for (const job of entry.jobs.values()) job.reject(error);
        entry.jobs.clear();
      };
      worker.on("error", failAll);
      worker.on("exit", (code) => {
        if (!this.#closed) failAll(new Error(`a sealing worker thread exited with code ${code}`));
      });
      this.#workers.push(entry);
    }
  }

  async seal(
    plaintexts: Buffer[],
    level: CompressionLevel,
    known?: BlobIdTable,
  ): Promise<(IdentifiedBlob | KnownBlob)[]> {
    const buffer =
      plaintexts.length === 1 ? transferable(plaintexts[0] as Buffer) : transferable(Buffer.concat(plaintexts));
    const lengths = plaintexts.map((p) => p.length);
    const reply = (await this.#send(
      (job): SealRequest => ({ job, plaintexts: buffer, lengths, level, ...(known ? { known: known.shared } : {}) }),
      [buffer],
    )) as SealReply;
    if (!reply.sealed || !reply.blobs) throw new Error("worker sent no blob");
    const sealed = Buffer.from(reply.sealed);
    let offset = 0;
    return reply.blobs.map((blob) => {
      if ("known" in blob) return blob;
      const { id, length, uncompressedLength } = blob;
      offset += length;
      return {
        id,
        sealed: sealed.subarray(offset - length, offset),
        ...(uncompressedLength !== undefined ? { uncompressedLength } : {}),
      };
    });
  }

  /**
   * Decodes blobs of a pack held in shared memory (authenticated, decompressed, checked against their ids); a blob
   * that fails comes back with its error, the others with their plaintexts.
   */
  async decode(sealed: SharedArrayBuffer, blobs: SealedBlobRef[]): Promise<DecodedBlob[]> {
    const reply = (await this.#send((job): DecodeRequest => ({ job, decode: true, sealed, blobs }), [])) as DecodeReply;
    if (!reply.plaintexts || !reply.blobs) throw new Error("worker sent no blob");
    const plaintexts = Buffer.from(reply.plaintexts);
    let offset = 0;
    return reply.blobs.map((result) => {
      if ("code" in result) return { error: new EngineError(result.code as EngineErrorCode, result.message) };
      offset += result.length;
      return { plaintext: plaintexts.subarray(offset - result.length, offset) };
    });
  }

  #send(request: (job: number) => SealRequest | DecodeRequest, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    if (this.#workers.length === 0) this.#start();
    const entry = this.#workers.reduce((best, next) => (next.jobs.size < best.jobs.size ? next : best));
    const job = this.#nextJob++;
    return new Promise((resolve, reject) => {
      entry.jobs.set(job, { resolve, reject });
      entry.worker.postMessage(request(job), transfer);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map(({ worker }) => worker.terminate()));
  }
}
