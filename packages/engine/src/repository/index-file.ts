import { z } from "zod";
import type { PackedBlob } from "./pack.ts";

// Index files (index/<id>): which blobs live where, as restic's JSON (engine-reference §1.8).

const indexSchema = z.object({
  packs: z.array(
    z.object({
      id: z.string().regex(/^[0-9a-f]{64}$/),
      blobs: z.array(
        z.object({
          id: z.string().regex(/^[0-9a-f]{64}$/),
          type: z.enum(["data", "tree"]),
          offset: z.number().int().nonnegative(),
          length: z.number().int().positive(),
          uncompressed_length: z.number().int().positive().optional(),
        }),
      ),
    }),
  ),
});

export type IndexedPack = { id: string; blobs: PackedBlob[] };

export function parseIndex(document: unknown): IndexedPack[] {
  return indexSchema.parse(document).packs.map((pack) => ({
    id: pack.id,
    blobs: pack.blobs.map((blob) => ({
      id: blob.id,
      type: blob.type,
      offset: blob.offset,
      length: blob.length,
      ...(blob.uncompressed_length !== undefined ? { uncompressedLength: blob.uncompressed_length } : {}),
    })),
  }));
}

export function indexDocument(packs: IndexedPack[]) {
  return {
    packs: packs.map((pack) => ({
      id: pack.id,
      blobs: pack.blobs.map((blob) => ({
        id: blob.id,
        type: blob.type,
        offset: blob.offset,
        length: blob.length,
        ...(blob.uncompressedLength !== undefined ? { uncompressed_length: blob.uncompressedLength } : {}),
      })),
    })),
  };
}
