// What a sync does with each file, decided as rclone decides it (engine-reference §5.2,
// fs/operations/operations.go `equal`), as pure functions the orchestrator feeds with what it has learnt so far:
// a verdict of "needMtime" or "needHash" asks for more facts (a HEAD, an MD5) and the same question again.

export type CompareMode =
  /** Size, then mtime; when mtimes differ, MD5s decide between re-uploading and only fixing the mtime. */
  | "default"
  /** Size, then MD5 (`--checksum`); a side without an MD5 counts as equal on size. mtimes are never updated. */
  | "checksum"
  /** Size alone (`--size-only`). */
  | "sizeOnly";

export type SourceFile = {
  /** Relative to the sync root, forward slashes, no leading slash. */
  path: string;
  size: number;
  mtimeNs: bigint;
};

export type DestinationFile = {
  path: string;
  size: number;
  /** Undefined until known (on S3 it takes a HEAD unless the state cache vouches for it). */
  mtimeNs?: bigint | undefined;
};

export type Verdict = "same" | "upload" | "setMtime" | "needMtime" | "needHash";

export type Hashes = { source: string | undefined; destination: string | undefined };

export type CompareOptions = {
  mode: CompareMode;
  /** mtimes this close count as equal (rclone's --modify-window: the coarser precision of the two sides). */
  modifyWindowNs: bigint;
};

export function compareFile(
  source: SourceFile,
  destination: DestinationFile | undefined,
  options: CompareOptions,
  hashes?: Hashes,
): Verdict {
  if (!destination || destination.size !== source.size) return "upload";
  if (options.mode === "sizeOnly") return "same";
  if (options.mode === "checksum") {
    if (!hashes) return "needHash";
    if (hashes.source === undefined || hashes.destination === undefined) return "same";
    return hashes.source === hashes.destination ? "same" : "upload";
  }
  if (destination.mtimeNs === undefined) return "needMtime";
  const difference = destination.mtimeNs - source.mtimeNs;
  if ((difference < 0n ? -difference : difference) <= options.modifyWindowNs) return "same";
  if (!hashes) return "needHash";
  // No hash to prove the contents equal: copy (rclone without --refresh-times).
  if (hashes.source === undefined || hashes.destination === undefined) return "upload";
  return hashes.source === hashes.destination ? "setMtime" : "upload";
}

/** Destination files the source no longer has (sync mode), in path order. */
export function filesToDelete(source: { has(path: string): boolean }, destination: Iterable<string>): string[] {
  return [...destination].filter((path) => !source.has(path)).sort();
}

export type DeletionGuard = {
  sourceFiles: number;
  destinationFiles: number;
  /** Folders of the source that could not be listed. */
  listingErrors: number;
  /** Files that failed to upload or update. */
  transferErrors: number;
  allowEmptySource: boolean;
};

/**
 * Why deleting would be unsafe, or undefined when it is safe. rclone refuses to delete after I/O errors; an empty
 * source facing a full destination is the classic unmounted-disk accident, so it is refused unless allowed.
 */
export function deletionRefusal(guard: DeletionGuard): string | undefined {
  if (guard.listingErrors > 0)
    return `${guard.listingErrors} source folder(s) could not be listed, so missing files may only be unreadable`;
  if (guard.transferErrors > 0) return `${guard.transferErrors} file(s) failed to transfer`;
  if (guard.sourceFiles === 0 && guard.destinationFiles > 0 && !guard.allowEmptySource)
    return (
      `the source is empty but the destination holds ${guard.destinationFiles} file(s); if the source is really ` +
      "meant to be empty (not an unmounted disk), allow an empty source (--allow-empty-source)"
    );
  return undefined;
}
