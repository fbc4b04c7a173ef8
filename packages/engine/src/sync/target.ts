import type { Bandwidth } from "../storage/bandwidth.ts";
import type { DestinationFile } from "./plan.ts";
import type { RcloneFilter } from "./rclone-filter.ts";
import type { ByteCounter, LocalFile } from "./source.ts";

// Where a sync writes: an S3 bucket (s3-target.ts) or a local folder (folder-target.ts). The orchestrator
// (sync.ts) only asks these questions, so both destinations get the same planning, filters, limits and reports.

export type UploadContext = {
  bandwidth: Bandwidth | undefined;
  /** Bytes sent (negative to take back the bytes of a failed attempt). */
  count: ByteCounter;
  signal: AbortSignal | undefined;
  /** The source's MD5 when the comparison already computed it. */
  md5: string | undefined;
};

export interface SyncTarget {
  /** For messages: `s3:…/bucket/prefix` or the folder. */
  readonly description: string;
  /** mtimes closer than this are equal: the precision the destination keeps. */
  readonly modifyWindowNs: bigint;
  /** Before listing: load saved state; unless a dry run, clean up what an interrupted run left behind. */
  prepare(signal: AbortSignal | undefined, dryRun: boolean): Promise<void>;
  /** Every file the filter includes, by relative path. */
  list(filter: RcloneFilter, signal: AbortSignal | undefined): Promise<Map<string, DestinationFile>>;
  /** Sets `file.mtimeNs` (S3: a HEAD unless the listing already told). */
  loadMtime(file: DestinationFile, signal: AbortSignal | undefined): Promise<void>;
  /** The file's MD5 (hex), undefined when the destination has none for it. */
  md5(file: DestinationFile, signal: AbortSignal | undefined): Promise<string | undefined>;
  upload(file: LocalFile, context: UploadContext): Promise<void>;
  /** Gives an unchanged file the source's mtime without sending its bytes again. */
  setMtime(file: DestinationFile, source: LocalFile, signal: AbortSignal | undefined): Promise<void>;
  remove(path: string, signal: AbortSignal | undefined): Promise<void>;
  /** After the sync: persist what is worth remembering. */
  finish(signal: AbortSignal | undefined): Promise<void>;
  close(): Promise<void>;
}
