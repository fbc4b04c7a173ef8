import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { goToolchain, runGoProgram } from "../tree/go-oracle.testing.ts";
import { chunkerTables, degree, gcd, isIrreducible, mod, mulMod, randomPolynomial } from "./polynomial.ts";
import { chunkBuffer, chunkLengths, chunkStream, maxChunkSize, minChunkSize, RabinChunker } from "./rabin.ts";

/** The polynomial of restic/chunker's test vectors. */
const testPolynomial = 0x3da3358b4dc173n;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const bin = (text: string) => BigInt(`0b${text}`);

/** Deterministic pseudo-random bytes (AES-CTR keystream of a label). */
function pseudoRandom(label: string, size: number): Buffer {
  const key = createHash("sha256").update(label).digest().subarray(0, 16);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

describe("polynomials (restic/chunker polynomials_test.go)", () => {
  it("tells irreducible polynomials from reducible ones", () => {
    const cases: [bigint, boolean][] = [
      [0x38f1e565e288dfn, false],
      [0x3da3358b4dc173n, true],
      [0x30a8295b9d5c91n, false],
      [0x255f4350b962cbn, false],
      [0x267f776110a235n, false],
      [0x2f4dae10d41227n, false],
      [0x2482734cacca49n, true],
      [0x312daf4b284899n, false],
      [0x29dfb6553d01d1n, false],
      [0x3548245eb26257n, false],
      [0x3199e7ef4211b3n, false],
      [0x362f39017dae8bn, false],
      [0x200d57aa6fdacbn, false],
      [0x35e0a4efa1d275n, false],
      [0x2ced55b026577fn, false],
      [0x260b012010893dn, false],
      [0x2df29cbcd59e9dn, false],
      [0x3f2ac7488bd429n, false],
      [0x3e5cb1711669fbn, false],
      [0x226d8de57a9959n, false],
      [0x3c8de80aaf5835n, false],
      [0x2026a59efb219bn, false],
      [0x39dfa4d13fb231n, false],
      [0x3143d0464b3299n, false],
    ];
    for (const [pol, irreducible] of cases) expect(isIrreducible(pol), pol.toString(16)).toBe(irreducible);
  });

  it("computes degree, mod, mulmod and gcd as restic's Pol does", () => {
    expect(degree(0x3af4b284899n)).toBe(41);
    expect(degree(testPolynomial)).toBe(53);
    expect(degree(1n)).toBe(0);
    expect(degree(0n)).toBe(-1);
    expect(mod(10n, 50n)).toBe(10n);
    expect(mod(bin("101101001"), bin("1010"))).toBe(1n);
    expect(mod(0x8000000000000000n, 0x8000000000000000n)).toBe(0n);
    expect(mod(bin("1100001111"), bin("10011"))).toBe(0n);
    expect(mulMod(0x1230n, 0x230n, 0x55n)).toBe(0x22n);
    expect(mulMod(0x0eae8c07dbbb3026n, 0xd5d6db9de04771den, 0xdd2bda3b77c9n)).toBe(0x425ae8595b7an);
    const gcds: [bigint, bigint, bigint][] = [
      [10n, 50n, 2n],
      [0n, 1n, 1n],
      [bin("101101001"), bin("1010"), 1n],
      [bin("1010"), bin("11"), bin("11")],
      [bin("1100"), bin("101"), bin("11")],
      [bin("1100001111"), bin("10011"), bin("10011")],
      [0x3da3358b4dc173n, 0x230d2259defdn, 1n],
      [0x230d2259defdn, 0x51b492b3eff2n, bin("10011")],
    ];
    for (const [a, b, expected] of gcds) {
      expect(gcd(a, b)).toBe(expected);
      expect(gcd(b, a)).toBe(expected);
    }
  });

  it("draws random irreducible degree-53 polynomials the way restic does", () => {
    const pol = randomPolynomial();
    expect(degree(pol)).toBe(53);
    expect(isIrreducible(pol)).toBe(true);
    // restic's recipe: 8 random bytes little-endian, bits 0..53 kept, bits 53 and 0 set, first irreducible wins.
    const draws = [Buffer.from("ffffffffffffffff", "hex"), Buffer.alloc(8)];
    draws.push(Buffer.alloc(8));
    draws[2]!.writeBigUInt64LE(0x3da3358b4dc173n | (0xffn << 56n));
    let calls = 0;
    expect(randomPolynomial(() => draws[calls++]!)).toBe(0x3da3358b4dc173n);
    expect(calls).toBe(3); // 0x3fffffffffffff and 0x20000000000001 are reducible
  });

  it("builds tables only for degree 53, and caches them", () => {
    expect(() => chunkerTables(0x3af4b284899n)).toThrow(/degree 53/);
    expect(chunkerTables(testPolynomial)).toBe(chunkerTables(testPolynomial));
  });
});

describe("Rabin chunker", () => {
  it("cuts all-zero data into 512 KiB chunks with fingerprint 0 (restic's chunks2 vector)", () => {
    const zeros = Buffer.alloc(4 * minChunkSize);
    const chunks = chunkBuffer(testPolynomial, zeros);
    expect(chunks.map((c) => [c.length, c.fingerprint])).toEqual(Array(4).fill([minChunkSize, 0]));
    expect(sha256(zeros.subarray(0, minChunkSize))).toBe(
      "07854d2fef297a06ba81685e660c332de36d5d18d546927d30daad6d7fda1541",
    );
  });

  it("gives an empty file no chunks, a short file one (fingerprint 1: never hashed), and stops at 8 MiB", () => {
    expect(chunkBuffer(testPolynomial, Buffer.alloc(0))).toEqual([]);
    expect(chunkBuffer(testPolynomial, Buffer.alloc(1000, 7))).toEqual([{ offset: 0, length: 1000, fingerprint: 1 }]);
    // A 64-byte period whose 64 window fingerprints all miss the split mask never cuts: 8 MiB chunks only.
    let period = pseudoRandom("period", 64);
    for (let attempt = 0; chunkLengths(testPolynomial, Buffer.concat(Array(8192 * 2).fill(period))).length > 1; ) {
      period = pseudoRandom(`period ${++attempt}`, 64);
    }
    const periodic = Buffer.concat(Array(Math.ceil((20 * 1024 * 1024) / 64)).fill(period)).subarray(
      0,
      20 * 1024 * 1024,
    );
    expect(chunkLengths(testPolynomial, periodic)).toEqual([maxChunkSize, maxChunkSize, 4 * 1024 * 1024]);
  });

  it("cuts at the same places however the data is split into pieces (even 1-byte pieces at boundaries)", () => {
    const data = pseudoRandom("split", 12 * 1024 * 1024);
    const whole = chunkBuffer(testPolynomial, data);
    expect(whole.reduce((sum, c) => sum + c.length, 0)).toBe(data.length);
    for (const c of whole.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(minChunkSize);
      expect(c.length).toBeLessThanOrEqual(maxChunkSize);
    }
    // Piece boundaries placed around cuts and warm-up windows, some tiny, exercise every path of push().
    const interesting = whole.flatMap((c) => [c.offset, c.offset + minChunkSize - 64, c.offset + minChunkSize]);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 3_000_000 }), fc.integer({ min: 1, max: 70 })), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.subarray(interesting),
        (sizes, around) => {
          const cuts = new Set<number>();
          let offset = 0;
          for (const size of sizes) {
            offset = Math.min(data.length, offset + size);
            cuts.add(offset);
          }
          for (const point of around) for (const delta of [-65, -64, -1, 0, 1, 63, 64]) cuts.add(point + delta);
          const points = [...cuts].filter((p) => p > 0 && p < data.length).sort((a, b) => a - b);
          const chunker = new RabinChunker(testPolynomial);
          const lengths: number[] = [];
          let start = 0;
          for (const point of [...points, data.length]) {
            for (const end of chunker.push(data.subarray(start, point))) lengths.push(end.length);
            start = point;
          }
          const last = chunker.finish();
          if (last) lengths.push(last.length);
          expect(lengths).toEqual(whole.map((c) => c.length));
        },
      ),
      { numRuns: 25 },
    );
  });

  it("streams: chunkStream yields exactly the chunks of the whole buffer, as copies", async () => {
    const data = Buffer.concat([pseudoRandom("stream", 5 * 1024 * 1024), Buffer.alloc(1_500_000)]);
    const expected = chunkBuffer(testPolynomial, data).map((c) => sha256(data.subarray(c.offset, c.offset + c.length)));
    for (const pieceSize of [1 << 16, 1_000_003, 77]) {
      const pieces: Buffer[] = [];
      for (let offset = 0; offset < data.length; offset += pieceSize)
        pieces.push(data.subarray(offset, offset + pieceSize));
      const ids: string[] = [];
      for await (const chunk of chunkStream(Readable.from(pieces), testPolynomial)) ids.push(sha256(chunk.data));
      expect(ids).toEqual(expected);
    }
    const empty: string[] = [];
    for await (const chunk of chunkStream(Readable.from([]), testPolynomial)) empty.push(sha256(chunk.data));
    expect(empty).toEqual([]);
  });

  it("is a different chunking for a different polynomial (the repository's polynomial matters)", () => {
    const data = pseudoRandom("other", 8 * 1024 * 1024);
    expect(chunkLengths(randomPolynomial(), data)).not.toEqual(chunkLengths(testPolynomial, data));
  });

  it.skipIf(!goToolchain)(
    "reproduces restic/chunker's chunks1 vector: 32 MiB of Go math/rand seed 23, 23 chunks",
    async () => {
      // getRandom(23, 32 MiB) from chunker_test.go, made by Go itself.
      const data = await runGoProgram(`package main

import (
	"bufio"
	"math/rand"
	"os"
)

func main() {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	rnd := rand.New(rand.NewSource(23))
	for i := 0; i < 32*1024*1024; i += 4 {
		r := rnd.Uint32()
		out.Write([]byte{byte(r), byte(r >> 8), byte(r >> 16), byte(r >> 24)})
	}
}
`);
      expect(data.length).toBe(32 * 1024 * 1024);
      const chunks1: [number, bigint, string][] = [
        [2163460, 0x000b98d4cdf00000n, "4b94cb2cf293855ea43bf766731c74969b91aa6bf3c078719aabdd19860d590d"],
        [643703, 0x000d4e8364d00000n, "5727a63c0964f365ab8ed2ccf604912f2ea7be29759a2b53ede4d6841e397407"],
        [1528956, 0x0015a25c2ef00000n, "a73759636a1e7a2758767791c69e81b69fb49236c6929e5d1b654e06e37674ba"],
        [1955808, 0x00102a8242e00000n, "c955fb059409b25f07e5ae09defbbc2aadf117c97a3724e06ad4abd2787e6824"],
        [2222372, 0x00045da878000000n, "6ba5e9f7e1b310722be3627716cf469be941f7f3e39a4c3bcefea492ec31ee56"],
        [2538687, 0x00198a8179900000n, "8687937412f654b5cfe4a82b08f28393a0c040f77c6f95e26742c2fc4254bfde"],
        [609606, 0x001d4e8d17100000n, "5da820742ff5feb3369112938d3095785487456f65a8efc4b96dac4be7ebb259"],
        [1205738, 0x000a7204dd600000n, "cc70d8fad5472beb031b1aca356bcab86c7368f40faa24fe5f8922c6c268c299"],
        [959742, 0x00183e71e1400000n, "4065bdd778f95676c92b38ac265d361f81bff17d76e5d9452cf985a2ea5a4e39"],
        [4036109, 0x001fec043c700000n, "b9cf166e75200eb4993fc9b6e22300a6790c75e6b0fc8f3f29b68a752d42f275"],
        [1525894, 0x000b1574b1500000n, "2f238180e4ca1f7520a05f3d6059233926341090f9236ce677690c1823eccab3"],
        [1352720, 0x00018965f2e00000n, "afd12f13286a3901430de816e62b85cc62468c059295ce5888b76b3af9028d84"],
        [811884, 0x00155628aa100000n, "42d0cdb1ee7c48e552705d18e061abb70ae7957027db8ae8db37ec756472a70a"],
        [1282314, 0x001909a0a1400000n, "819721c2457426eb4f4c7565050c44c32076a56fa9b4515a1c7796441730eb58"],
        [1318021, 0x001cceb980000000n, "842eb53543db55bacac5e25cb91e43cc2e310fe5f9acc1aee86bdf5e91389374"],
        [948640, 0x0011f7a470a00000n, "b8e36bf7019bb96ac3fb7867659d2167d9d3b3148c09fe0de45850b8fe577185"],
        [645464, 0x00030ce2d9400000n, "5584bd27982191c3329f01ed846bfd266e96548dfa87018f745c33cfc240211d"],
        [533758, 0x0004435c53c00000n, "4da778a25b72a9a0d53529eccfe2e5865a789116cb1800f470d8df685a8ab05d"],
        [1128303, 0x0000c48517800000n, "08c6b0b38095b348d80300f0be4c5184d2744a17147c2cba5cc4315abf4c048f"],
        [800374, 0x000968473f900000n, "820284d2c8fd243429674c996d8eb8d3450cbc32421f43113e980f516282c7bf"],
        [2453512, 0x001e197c92600000n, "5fa870ed107c67704258e5e50abe67509fb73562caf77caa843b5f243425d853"],
        [2651975, 0x000ae6c868000000n, "181347d2bbec32bef77ad5e9001e6af80f6abcf3576549384d334ee00c1988d8"],
        [237392, 0x0000000000000001n, "fcd567f5d866357a8e299fd5b2359bb2c8157c30395229c4e9b0a353944a7978"],
      ];
      const ours = chunkBuffer(testPolynomial, data).map((c): [number, bigint, string] => [
        c.length,
        BigInt(c.fingerprint),
        sha256(data.subarray(c.offset, c.offset + c.length)),
      ]);
      expect(ours).toEqual(chunks1);
    },
    120_000,
  );
});
