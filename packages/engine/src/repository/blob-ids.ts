// The ids of the blobs a backup need not store (the repository's, and those it added), in shared memory, so the
// sealing threads can skip a blob the repository already holds before they compress and encrypt it. A re-backup of
// a large file with a small change reads all of it again, and all but a few of its chunks are known: without this
// every one of them was sealed, then dropped.
//
// Open addressing with linear probing over 32-byte slots (an id is a SHA-256, so its first bytes are a good hash);
// an all-zero slot is empty. Only the owning thread adds; the sealing threads look up without locks. A lookup racing
// an insert sees the slot empty or partly written: it misses, and the thread seals a blob the writer then drops. It
// cannot match, because a slot only ever goes from empty to one id. Growing moves the ids to a new buffer, which
// the next requests carry; a thread still holding the old one only misses ids added since.

const slotWords = 8;
const minimumSlots = 1024;
/** Slots filled at most: linear probing stays short below this. */
const maximumLoad = 0.75;

/** The eight little-endian words of a 32-byte id. */
function idWords(id: Uint8Array, into: Uint32Array): Uint32Array {
  for (let word = 0; word < slotWords; word++) {
    const at = word * 4;
    into[word] =
      ((id[at] ?? 0) | ((id[at + 1] ?? 0) << 8) | ((id[at + 2] ?? 0) << 16) | ((id[at + 3] ?? 0) << 24)) >>> 0;
  }
  return into;
}

/** The slot holding `id`, or the bitwise complement of the empty slot where it would go. */
function probe(slots: Uint32Array, id: Uint32Array): number {
  const mask = slots.length / slotWords - 1;
  for (let slot = (id[0] ?? 0) & mask; ; slot = (slot + 1) & mask) {
    const base = slot * slotWords;
    let same = true;
    let empty = true;
    for (let word = 0; word < slotWords; word++) {
      const value = slots[base + word];
      if (value !== id[word]) same = false;
      if (value !== 0) empty = false;
    }
    if (empty) return ~slot;
    if (same) return slot;
  }
}

function isZero(id: Uint32Array): boolean {
  return id.every((word) => word === 0);
}

/** Whether the table in `shared` (BlobIdTable.shared) holds the id (its 32 bytes): for the sealing threads. */
export function sharedTableHas(shared: SharedArrayBuffer, id: Uint8Array): boolean {
  const words = idWords(id, new Uint32Array(slotWords));
  // The all-zero id cannot be told from an empty slot; the owner answers for it.
  return !isZero(words) && probe(new Uint32Array(shared), words) >= 0;
}

/** A set of blob ids (hex) whose memory other threads can read: `shared`. */
export class BlobIdTable {
  #slots: Uint32Array;
  #count = 0;
  #holdsZero = false;
  readonly #bytes = Buffer.alloc(32);
  readonly #words = new Uint32Array(slotWords);

  constructor(ids: Iterable<string> = []) {
    this.#slots = new Uint32Array(new SharedArrayBuffer(minimumSlots * slotWords * 4));
    for (const id of ids) this.add(id);
  }

  /** The table's memory as it is now; after a later add it may have moved (see the file comment). */
  get shared(): SharedArrayBuffer {
    return this.#slots.buffer as SharedArrayBuffer;
  }

  get size(): number {
    return this.#count + (this.#holdsZero ? 1 : 0);
  }

  has(id: string): boolean {
    const words = this.#parse(id);
    return isZero(words) ? this.#holdsZero : probe(this.#slots, words) >= 0;
  }

  /** Adds the id; false when it was there already. */
  add(id: string): boolean {
    const words = this.#parse(id);
    if (isZero(words)) {
      const added = !this.#holdsZero;
      this.#holdsZero = true;
      return added;
    }
    const found = probe(this.#slots, words);
    if (found >= 0) return false;
    if (this.#count + 1 > (this.#slots.length / slotWords) * maximumLoad) {
      this.#grow();
      this.#slots.set(words, ~probe(this.#slots, words) * slotWords);
    } else {
      this.#slots.set(words, ~found * slotWords);
    }
    this.#count++;
    return true;
  }

  #parse(id: string): Uint32Array {
    if (this.#bytes.write(id, "hex") !== 32 || id.length !== 64) throw new Error(`not a blob id: ${id}`);
    return idWords(this.#bytes, this.#words);
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(new SharedArrayBuffer(old.byteLength * 2));
    for (let base = 0; base < old.length; base += slotWords) {
      const words = old.subarray(base, base + slotWords);
      if (!isZero(words)) this.#slots.set(words, ~probe(this.#slots, words) * slotWords);
    }
  }
}
