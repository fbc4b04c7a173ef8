import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from "node:zlib";

// zstd frames of blobs. node:zlib builds a stream object and a fresh zstd context for every call: 50-250 µs before a
// byte is compressed, which for a small blob is many times the work itself (a backup or restore of 20 000 small files
// spent seconds of CPU on it). Blobs below `wasmBelow` therefore go through zstd compiled to WebAssembly (the build
// the npm package @bokuweb/zstd-wasm ships, version pinned) with one compression context per thread kept for every
// call; larger blobs go through node:zlib, whose native code is faster once the fixed cost is small beside the data.
// Both write standard frames (restic reads either; which one wrote a blob is invisible in the repository).

/** Blobs shorter than this use the WebAssembly build: small files (one blob each) and most trees. */
export const wasmBelow = 64 * 1024;

// Node has WebAssembly; the project's type libraries (ES2024, no DOM) do not declare it. What is used of it:
type WasmMemory = { readonly buffer: ArrayBuffer; grow(pages: number): number };
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
};

// The agent's single-file build defines this as the module's bytes in base64 (an executable has no node_modules).
declare const __E3_ZSTD_WASM__: string | undefined;

/** The WebAssembly build's exports under its minified names (stable for the pinned version; checked at load). */
type ZstdExports = {
  /** memory */
  f: WasmMemory;
  /** module constructors */
  g: () => void;
  /** ZSTD_isError(code) */
  h: (code: number) => number;
  /** ZSTD_compressBound(size) */
  i: (size: number) => number;
  /** ZSTD_createCCtx() */
  j: () => number;
  /** ZSTD_compress_usingDict(cctx, dst, dstCapacity, src, srcSize, dict, dictSize, level) */
  l: (
    cctx: number,
    dst: number,
    capacity: number,
    src: number,
    size: number,
    dict: number,
    dictSize: number,
    level: number,
  ) => number;
  /** ZSTD_decompress(dst, dstCapacity, src, srcSize) */
  r: (dst: number, capacity: number, src: number, size: number) => number;
  /** malloc(size) */
  s: (size: number) => number;
  /** free(pointer) */
  t: (pointer: number) => void;
};

type Wasm = { exports: ZstdExports; cctx: number; scratch: { pointer: number; size: number } };
let wasm: Wasm | undefined;

function wasmBytes(): Uint8Array {
  // One expression, so the single-file build folds it to its first branch (no import.meta is left behind).
  return typeof __E3_ZSTD_WASM__ === "string"
    ? Buffer.from(__E3_ZSTD_WASM__, "base64")
    : readFileSync(join(dirname(createRequire(import.meta.url).resolve("@bokuweb/zstd-wasm")), "zstd.wasm"));
}

/** Compiles and starts the WebAssembly build once per thread, synchronously (it is 250 KB). */
function loaded(): Wasm {
  if (wasm) return wasm;
  const fail = (what: string) => () => {
    throw new Error(`zstd (WebAssembly) ${what}`);
  };
  let memory: WasmMemory | undefined;
  const imports = {
    a: {
      a: fail("exited"),
      b: () => {},
      c: fail("aborted"),
      d: () => 0,
      // emscripten_resize_heap: grow the memory to at least `requested` bytes.
      e: (requested: number) => {
        requested >>>= 0;
        if (!memory) return 0;
        const pages = Math.ceil((requested - memory.buffer.byteLength) / 65536);
        try {
          memory.grow(Math.max(pages, 1));
          return 1;
        } catch {
          return 0;
        }
      },
    },
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes()), imports);
  const exports = instance.exports as unknown as ZstdExports;
  for (const name of ["g", "h", "i", "j", "l", "r", "s", "t"] as const) {
    if (typeof exports[name] !== "function") throw new Error(`zstd (WebAssembly) lacks the export ${name}`);
  }
  if (!(exports.f instanceof WebAssembly.Memory)) throw new Error("zstd (WebAssembly) exports no memory");
  memory = exports.f;
  exports.g();
  wasm = { exports, cctx: exports.j(), scratch: { pointer: 0, size: 0 } };
  return wasm;
}

/** Room for `size` bytes in the WebAssembly memory, kept between calls (it only grows, to at most ~2 x wasmBelow). */
function scratch(state: Wasm, size: number): number {
  if (state.scratch.size < size) {
    if (state.scratch.pointer) state.exports.t(state.scratch.pointer);
    const pointer = state.exports.s(size);
    if (!pointer) throw new Error(`zstd (WebAssembly) could not allocate ${size} bytes`);
    state.scratch = { pointer, size };
  }
  return state.scratch.pointer;
}

/** One zstd frame holding `plaintext`, at `level`. */
export function compressFrame(plaintext: Uint8Array, level: number): Buffer {
  if (plaintext.length >= wasmBelow) {
    // One output buffer sized to the input (zlib's default is 16 KiB pieces joined at the end).
    return zstdCompressSync(plaintext, {
      chunkSize: plaintext.length + 1024,
      pledgedSrcSize: plaintext.length,
      params: { [zlibConstants.ZSTD_c_compressionLevel]: level },
    });
  }
  const state = loaded();
  const { exports } = state;
  const bound = exports.i(plaintext.length);
  const source = scratch(state, plaintext.length + bound);
  const target = source + plaintext.length;
  new Uint8Array(exports.f.buffer, source, plaintext.length).set(plaintext);
  const written = exports.l(state.cctx, target, bound, source, plaintext.length, 0, 0, level);
  if (exports.h(written)) throw new Error(`zstd (WebAssembly) failed to compress ${plaintext.length} bytes`);
  return Buffer.from(new Uint8Array(exports.f.buffer, target, written));
}

/** The plaintext of a zstd frame that holds exactly `length` bytes; throws when it is not that. */
export function decompressFrame(frame: Uint8Array, length: number): Buffer {
  if (length >= wasmBelow) {
    // One output buffer of the known size (zlib's default allocates the plaintext twice).
    const plaintext = zstdDecompressSync(frame, { chunkSize: Math.max(64, length + 64) });
    if (plaintext.length !== length) throw new Error(`zstd frame holds ${plaintext.length} bytes, not ${length}`);
    return plaintext;
  }
  const state = loaded();
  const { exports } = state;
  const source = scratch(state, frame.length + length + 1);
  const target = source + frame.length;
  new Uint8Array(exports.f.buffer, source, frame.length).set(frame);
  // One byte more room than expected, so a frame holding more than `length` is told from one holding exactly that.
  const written = exports.r(target, length + 1, source, frame.length);
  if (exports.h(written)) throw new Error(`not a valid zstd frame of ${length} bytes`);
  if (written !== length) throw new Error(`zstd frame holds ${written} bytes, not ${length}`);
  return Buffer.from(new Uint8Array(exports.f.buffer, target, written));
}
