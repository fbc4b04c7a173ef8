/**
 * Gives a buffer's memory back now rather than when V8 next collects it: detaches its ArrayBuffer. Chunks, frames
 * and sealed blobs are megabytes each and short-lived, and left to the collector they piled up as external memory
 * (a compressed frame even keeps an ArrayBuffer the size of its plaintext). Only for memory nothing else views;
 * Node's shared pool of small Buffers and shared memory are left alone.
 */
export function freeNow(bytes: Uint8Array): void {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && buffer.byteLength > Buffer.poolSize && !buffer.detached) buffer.transfer(0);
}
