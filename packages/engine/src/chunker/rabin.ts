import { type ChunkerTables, chunkerTables, windowSize } from "./polynomial.ts";

// restic's content-defined chunker (github.com/restic/chunker), bit-exact: a Rabin fingerprint over a 64-byte
// window cuts where its low 20 bits are zero, between 512 KiB and 8 MiB (engine-reference §2.4-2.6). The digest is
// kept as two 32-bit halves so the per-byte loop stays in small integers.

export const minChunkSize = 512 * 1024;
export const maxChunkSize = 8 * 1024 * 1024;
const splitMask = (1 << 20) - 1;

/**
 * A streaming chunker: feed it a file's bytes in any pieces; it reports where chunks end. One instance per file
 * (restic resets the chunker for every file).
 */
export class RabinChunker {
  readonly #tables: ChunkerTables;
  readonly #window = new Uint8Array(windowSize);
  #wpos = 0;
  #hi = 0;
  #lo = 0;
  /** Bytes in the current chunk so far. */
  #count = 0;
  /** Bytes still to take into the current chunk before hashing starts. */
  #pre = 0;

  constructor(polynomialOrTables: bigint | ChunkerTables) {
    this.#tables = typeof polynomialOrTables === "bigint" ? chunkerTables(polynomialOrTables) : polynomialOrTables;
    this.#reset();
  }

  #reset(): void {
    this.#window.fill(0);
    this.#wpos = 0;
    this.#hi = 0;
    this.#lo = 0;
    this.#count = 0;
    this.#slide(1);
    // Nothing before the last 64 bytes of the minimum size can decide a cut, so it is not hashed at all.
    this.#pre = minChunkSize - windowSize;
  }

  #slide(byte: number): void {
    const { outHi, outLo, modHi, modLo, polShift } = this.#tables;
    const leaving = this.#window[this.#wpos]!;
    this.#window[this.#wpos] = byte;
    this.#wpos = (this.#wpos + 1) % windowSize;
    let hi = this.#hi ^ outHi[leaving]!;
    let lo = (this.#lo ^ outLo[leaving]!) >>> 0;
    const index = hi >>> (polShift - 32);
    hi = (hi << 8) | (lo >>> 24);
    lo = ((lo << 8) | byte) >>> 0;
    this.#hi = hi ^ modHi[index]!;
    this.#lo = (lo ^ modLo[index]!) >>> 0;
  }

  /** Consumes `data`; returns the lengths of the chunks that ended inside it, in order. */
  push(data: Uint8Array): number[] {
    const ended: number[] = [];
    let position = 0;
    while (position < data.length) {
      if (this.#pre > 0) {
        const skip = Math.min(this.#pre, data.length - position);
        this.#pre -= skip;
        this.#count += skip;
        position += skip;
        continue;
      }
      // The hot loop, with the state in locals.
      const { outHi, outLo, modHi, modLo, polShift } = this.#tables;
      const window = this.#window;
      const shift = polShift - 32;
      let wpos = this.#wpos;
      let hi = this.#hi;
      let lo = this.#lo;
      let count = this.#count;
      let cut = false;
      while (position < data.length) {
        const byte = data[position++]!;
        const leaving = window[wpos]!;
        window[wpos] = byte;
        wpos = (wpos + 1) & (windowSize - 1);
        hi ^= outHi[leaving]!;
        lo = (lo ^ outLo[leaving]!) >>> 0;
        const index = hi >>> shift;
        hi = (hi << 8) | (lo >>> 24);
        lo = ((lo << 8) | byte) >>> 0;
        hi ^= modHi[index]!;
        lo = (lo ^ modLo[index]!) >>> 0;
        count++;
        if (count < minChunkSize) continue;
        if ((lo & splitMask) === 0 || count >= maxChunkSize) {
          cut = true;
          break;
        }
      }
      if (cut) {
        ended.push(count);
        this.#reset();
      } else {
        this.#wpos = wpos;
        this.#hi = hi;
        this.#lo = lo;
        this.#count = count;
      }
    }
    return ended;
  }

  /** Ends the file: the length of the last, possibly short, chunk (0 when the data ended on a cut). */
  finish(): number {
    const rest = this.#count;
    this.#reset();
    return rest;
  }
}

/** The chunk lengths of a whole buffer, for tests and small files. */
export function chunkLengths(polynomial: bigint, data: Uint8Array): number[] {
  const chunker = new RabinChunker(polynomial);
  const lengths = chunker.push(data);
  const last = chunker.finish();
  return last > 0 ? [...lengths, last] : lengths;
}
