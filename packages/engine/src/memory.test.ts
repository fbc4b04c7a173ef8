import { describe, expect, it } from "vitest";
import { freeNow } from "./memory.ts";

describe("freeNow", () => {
  it("gives a large buffer's memory back at once", () => {
    const large = Buffer.alloc(1 << 20, 7);
    freeNow(large.subarray(0, 10));
    expect(large.buffer.detached).toBe(true);
    expect(large.length).toBe(0);
  });

  it("leaves Node's shared pool of small buffers alone", () => {
    const small = Buffer.from("a small buffer from the pool");
    const neighbour = Buffer.from("another one");
    expect(small.buffer).toBe(neighbour.buffer);
    freeNow(small);
    expect(small.toString()).toBe("a small buffer from the pool");
    expect(neighbour.toString()).toBe("another one");
  });

  it("leaves shared memory alone", () => {
    const shared = new Uint8Array(new SharedArrayBuffer(1 << 20)).fill(3);
    freeNow(shared);
    expect(shared[0]).toBe(3);
  });

  it("is harmless on memory already given back", () => {
    const large = Buffer.alloc(1 << 20);
    freeNow(large);
    expect(() => freeNow(large)).not.toThrow();
  });
});
