// Chunker throughput, single thread, with SHA-256 (the blob id every chunk needs) for comparison.
// A measuring script, not a test: `node packages/engine/src/chunker/throughput.bench.ts`.

import { createCipheriv, createHash } from "node:crypto";
import { chunkBuffer, RabinChunker } from "./rabin.ts";

const size = 64 * 1024 * 1024;
// Deterministic pseudo-random data (AES-CTR keystream): fast to make, no cuts forced by structure.
const data = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16)).update(Buffer.alloc(size));
const polynomial = 0x3da3358b4dc173n;

function measure(name: string, run: () => unknown): void {
  for (let i = 0; i < 2; i++) run();
  const rounds = 5;
  const start = performance.now();
  for (let i = 0; i < rounds; i++) run();
  const seconds = (performance.now() - start) / 1000;
  console.log(`${name.padEnd(34)} ${((rounds * size) / seconds / 1e6).toFixed(0).padStart(6)} MB/s`);
}

console.log(`${chunkBuffer(polynomial, data).length} chunks in ${size / 1024 / 1024} MiB`);
// Pieces first: a stream calls push() many times, which lets V8 optimize it fully; a single giant push() right
// away would only get on-stack replacement and measure ~20% lower.
for (const piece of [65_536, 1024 * 1024]) {
  measure(`chunker, ${piece / 1024} KiB pieces (a stream)`, () => {
    const chunker = new RabinChunker(polynomial);
    for (let offset = 0; offset < size; offset += piece) chunker.push(data.subarray(offset, offset + piece));
    return chunker.finish();
  });
}
measure("chunker, whole buffer", () => chunkBuffer(polynomial, data));
measure("sha256 (node:crypto)", () => createHash("sha256").update(data).digest());
