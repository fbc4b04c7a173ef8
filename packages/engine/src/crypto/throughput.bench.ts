// Throughput of the MAC and of seal/open, single thread, with SHA-256 and AES-256-CTR alone for comparison.
// A measuring script, not a test: `node packages/engine/src/crypto/throughput.bench.ts` (Node 24 strips the types).
// Sizes: 1 MiB is a typical data blob (chunks average ~1.5 MiB), 16 MiB a whole pack.

import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { generateKey } from "./key.ts";
import { poly1305 } from "./poly1305.ts";
import { open, seal } from "./seal.ts";

const key = generateKey();
const oneTimeKey = randomBytes(32);

function measure(name: string, size: number, run: () => unknown): void {
  const rounds = Math.max(10, Math.round((256 * 1024 * 1024) / size));
  for (let i = 0; i < 3; i++) run(); // let the JIT settle
  const start = performance.now();
  for (let i = 0; i < rounds; i++) run();
  const seconds = (performance.now() - start) / 1000;
  const label = `${name} (${size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : `${size / 1024} KiB`})`;
  console.log(`${label.padEnd(30)} ${((rounds * size) / seconds / 1e6).toFixed(0).padStart(6)} MB/s`);
}

for (const size of [1024 * 1024, 16 * 1024 * 1024]) {
  const data = randomBytes(size + 1).subarray(1); // deliberately unaligned, as blobs inside a pack are
  const sealed = seal(key, data);
  measure("poly1305", size, () => poly1305(oneTimeKey, data));
  measure("seal (CTR + MAC)", size, () => seal(key, data));
  measure("open (MAC + CTR)", size, () => open(key, sealed));
  measure("sha256 (node:crypto)", size, () => createHash("sha256").update(data).digest());
  measure("aes-256-ctr alone", size, () => createCipheriv("aes-256-ctr", key.encrypt, randomBytes(16)).update(data));
}
