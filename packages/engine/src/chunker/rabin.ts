import { type ChunkerTables, chunkerTables, windowSize } from "./polynomial.ts";

// restic's content-defined chunker (github.com/restic/chunker, used by restic through v0.5), bit-exact
// (engine-reference §2.1, 2.4, 2.5): a Rabin fingerprint over a 64-byte window; a chunk ends after a byte where
// the fingerprint's low 20 bits are zero, but never before 512 KiB and always at 8 MiB. Same polynomial and same
// bytes give restic's chunks, so both tools store the same data blobs (dedup across them).
//
// Per chunk restic (1) resets: window zeroed, then one byte of value 1 slid in; (2) skips MinSize − 64 bytes
// without hashing them (they cannot influence a cut: by the first possible cut the window has moved past them);
// (3) hashes every following byte and tests for a cut once the chunk has MinSize bytes.
//
// Speed: the 53-bit digest lives in two int32 halves (hi < 2^21, lo), all tables are Int32Array, and once a
// chunk has hashed 64 bytes the byte leaving the window is read straight from the input (data[i − 64]) instead
// of a ring buffer. The ring is only used for the first 64 bytes of each pushed buffer and for the 64 warm-up
// bytes after a reset (whose leaving bytes are the reset window's 0, …, 0, 1).

export const minChunkSize = 512 * 1024;
export const maxChunkSize = 8 * 1024 * 1024;
const splitMask = (1 << 20) - 1;

/** Where a chunk ended inside a pushed buffer. */
export type ChunkEnd = {
  /** Offset in the pushed buffer just after the chunk's last byte. */
  end: number;
  /** The chunk's whole length (it may have started in earlier buffers). */
  length: number;
  /** The Rabin fingerprint at the cut (restic's Chunk.Cut), exact below 2^53. */
  fingerprint: number;
};

/**
 * A streaming chunker for one file: push() its bytes in pieces of any size, finish() at the end. It keeps 64
 * bytes of state, never the data itself; the caller keeps the bytes of the chunk in progress.
 */
export class RabinChunker {
  readonly #tables: ChunkerTables;
  /** The last 64 hashed bytes, oldest at #wpos (valid whenever a buffer ends mid-chunk). */
  readonly #window = new Uint8Array(windowSize);
  #wpos = 0;
  #hi = 0;
  #lo = 0;
  /** Bytes in the current chunk so far. */
  #count = 0;
  /** Bytes still to skip without hashing at the start of the current chunk. */
  #pre = 0;
  /** Bytes hashed in the current chunk, counted up to 64 (after that data[i − 64] is the leaving byte). */
  #hashed = 0;

  constructor(polynomialOrTables: bigint | ChunkerTables) {
    this.#tables = typeof polynomialOrTables === "bigint" ? chunkerTables(polynomialOrTables) : polynomialOrTables;
    this.#reset();
  }

  get polynomial(): bigint {
    return this.#tables.polynomial;
  }

  #reset(): void {
    // restic: window zeroed, digest 0, then slide(1) — window[0] = 1, wpos = 1, digest = 1.
    this.#window.fill(0);
    this.#window[0] = 1;
    this.#wpos = 1;
    this.#hi = 0;
    this.#lo = 1;
    this.#count = 0;
    this.#hashed = 0;
    this.#pre = minChunkSize - windowSize;
  }

  #fingerprint(): number {
    return this.#hi * 2 ** 32 + (this.#lo >>> 0);
  }

  /** Consumes `data`; returns the chunks that ended inside it, in order. */
  push(data: Uint8Array): ChunkEnd[] {
    const ended: ChunkEnd[] = [];
    const length = data.length;
    const { outHi, outLo, modHi, modLo } = this.#tables;
    const shift = this.#tables.polShift - 32;
    let position = 0;
    while (position < length) {
      if (this.#pre > 0) {
        const skip = Math.min(this.#pre, length - position);
        this.#pre -= skip;
        this.#count += skip;
        position += skip;
        continue;
      }
      let hi = this.#hi;
      let lo = this.#lo;
      let count = this.#count;
      let cut = false;
      // Slow path, one byte at a time through the ring: warm-up after a reset, or the start of a buffer.
      while (position < length && (this.#hashed < windowSize || position < windowSize)) {
        const byte = data[position++]!;
        const window = this.#window;
        const leaving = window[this.#wpos]!;
        window[this.#wpos] = byte;
        this.#wpos = (this.#wpos + 1) & (windowSize - 1);
        if (this.#hashed < windowSize) this.#hashed++;
        hi ^= outHi[leaving]!;
        lo ^= outLo[leaving]!;
        const index = hi >>> shift;
        hi = (hi << 8) | (lo >>> 24);
        lo = (lo << 8) | byte;
        hi ^= modHi[index]!;
        lo ^= modLo[index]!;
        count++;
        if (count >= minChunkSize && ((lo & splitMask) === 0 || count >= maxChunkSize)) {
          cut = true;
          break;
        }
      }
      // Fast path: the leaving byte is data[i − 64]; the loop stops at the maximum chunk size.
      if (!cut && position < length) {
        const limit = Math.min(length, position + (maxChunkSize - count));
        let i = position;
        for (; i < limit; i++) {
          const leaving = data[i - windowSize]!;
          hi ^= outHi[leaving]!;
          lo ^= outLo[leaving]!;
          const index = hi >>> shift;
          hi = (hi << 8) | (lo >>> 24);
          lo = (lo << 8) | data[i]!;
          hi ^= modHi[index]!;
          lo ^= modLo[index]!;
          if ((lo & splitMask) === 0) {
            i++;
            cut = true;
            break;
          }
        }
        count += i - position;
        position = i;
        if (count >= maxChunkSize) cut = true;
        if (!cut) {
          // The buffer ended mid-chunk: its last 64 bytes are the window the next buffer starts from.
          this.#window.set(data.subarray(position - windowSize, position));
          this.#wpos = 0;
        }
      }
      if (cut) {
        this.#hi = hi;
        this.#lo = lo;
        ended.push({ end: position, length: count, fingerprint: this.#fingerprint() });
        this.#reset();
      } else {
        this.#hi = hi;
        this.#lo = lo;
        this.#count = count;
      }
    }
    return ended;
  }

  /**
   * Ends the file: the last chunk (shorter than the minimum, or whatever followed the last cut), or null when the
   * data ended exactly on a cut or was empty. The chunker is then ready for the next file.
   */
  finish(): { length: number; fingerprint: number } | null {
    const rest = this.#count === 0 ? null : { length: this.#count, fingerprint: this.#fingerprint() };
    this.#reset();
    return rest;
  }
}

/** Chunk boundaries of a whole buffer: offset, length and cut fingerprint of each chunk, in order. */
export function chunkBuffer(
  polynomialOrTables: bigint | ChunkerTables,
  data: Uint8Array,
): { offset: number; length: number; fingerprint: number }[] {
  const chunker = new RabinChunker(polynomialOrTables);
  const chunks = chunker
    .push(data)
    .map(({ end, length, fingerprint }) => ({ offset: end - length, length, fingerprint }));
  const last = chunker.finish();
  if (last) chunks.push({ offset: data.length - last.length, ...last });
  return chunks;
}

/** The chunk lengths of a whole buffer. */
export function chunkLengths(polynomialOrTables: bigint | ChunkerTables, data: Uint8Array): number[] {
  return chunkBuffer(polynomialOrTables, data).map((chunk) => chunk.length);
}

/**
 * Chunks a stream (e.g. fs.createReadStream) without holding more than the chunk in progress: yields each chunk's
 * bytes as a fresh Buffer (at most 8 MiB), in order. An empty stream yields nothing (restic: `content: []`).
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array>,
  polynomialOrTables: bigint | ChunkerTables,
): AsyncGenerator<{ data: Buffer; fingerprint: number }> {
  const chunker = new RabinChunker(polynomialOrTables);
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  const take = (piece: Uint8Array, total: number): Buffer => {
    // Copies, so the caller may reuse its read buffers.
    const data = Buffer.concat([...pending, piece], total);
    pending = [];
    pendingLength = 0;
    return data;
  };
  for await (const piece of source) {
    let start = 0;
    for (const { end, length, fingerprint } of chunker.push(piece)) {
      yield { data: take(piece.subarray(start, end), length), fingerprint };
      start = end;
    }
    if (start < piece.length) {
      pending.push(Buffer.from(piece.subarray(start))); // copy: the source may reuse its buffer
      pendingLength += piece.length - start;
    }
  }
  const last = chunker.finish();
  if (last) yield { data: take(new Uint8Array(0), pendingLength), fingerprint: last.fingerprint };
}
