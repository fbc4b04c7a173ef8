import { z } from "zod";

// Snapshot files (snapshots/<id>): JSON in Go's field order, stored as an unpacked file (engine-reference §1.10).

export type SnapshotSummary = {
  backupStart: string;
  backupEnd: string;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  dirsNew: number;
  dirsChanged: number;
  dirsUnmodified: number;
  dataBlobs: number;
  treeBlobs: number;
  dataAdded: number;
  dataAddedPacked: number;
  totalFilesProcessed: number;
  totalBytesProcessed: number;
};

export type Snapshot = {
  time: string;
  parent?: string;
  tree: string;
  paths: string[];
  hostname?: string;
  username?: string;
  uid?: number;
  gid?: number;
  excludes?: string[];
  tags?: string[];
  programVersion?: string;
  summary?: SnapshotSummary;
};

/** The document in restic's field order; optional fields are left out when empty, as Go's omitempty does. */
export function snapshotDocument(snapshot: Snapshot): Record<string, unknown> {
  const document: Record<string, unknown> = { time: snapshot.time };
  if (snapshot.parent) document.parent = snapshot.parent;
  document.tree = snapshot.tree;
  document.paths = snapshot.paths;
  if (snapshot.hostname) document.hostname = snapshot.hostname;
  if (snapshot.username) document.username = snapshot.username;
  if (snapshot.uid) document.uid = snapshot.uid;
  if (snapshot.gid) document.gid = snapshot.gid;
  if (snapshot.excludes?.length) document.excludes = snapshot.excludes;
  if (snapshot.tags?.length) document.tags = snapshot.tags;
  if (snapshot.programVersion) document.program_version = snapshot.programVersion;
  if (snapshot.summary) {
    const s = snapshot.summary;
    document.summary = {
      backup_start: s.backupStart,
      backup_end: s.backupEnd,
      files_new: s.filesNew,
      files_changed: s.filesChanged,
      files_unmodified: s.filesUnmodified,
      dirs_new: s.dirsNew,
      dirs_changed: s.dirsChanged,
      dirs_unmodified: s.dirsUnmodified,
      data_blobs: s.dataBlobs,
      tree_blobs: s.treeBlobs,
      data_added: s.dataAdded,
      data_added_packed: s.dataAddedPacked,
      total_files_processed: s.totalFilesProcessed,
      total_bytes_processed: s.totalBytesProcessed,
    };
  }
  return document;
}

const count = z.number().int().nonnegative();
const summarySchema = z.object({
  backup_start: z.string(),
  backup_end: z.string(),
  files_new: count,
  files_changed: count,
  files_unmodified: count,
  dirs_new: count,
  dirs_changed: count,
  dirs_unmodified: count,
  data_blobs: count,
  tree_blobs: count,
  data_added: count,
  data_added_packed: count.optional(),
  total_files_processed: count,
  total_bytes_processed: count,
});

const snapshotSchema = z.object({
  time: z.string(),
  parent: z.string().optional(),
  tree: z.string().regex(/^[0-9a-f]{64}$/),
  paths: z.array(z.string()),
  hostname: z.string().optional(),
  username: z.string().optional(),
  uid: z.number().optional(),
  gid: z.number().optional(),
  excludes: z.array(z.string()).nullish(),
  tags: z.array(z.string()).nullish(),
  program_version: z.string().optional(),
  summary: summarySchema.optional(),
});

export function parseSnapshot(document: unknown): Snapshot {
  const parsed = snapshotSchema.parse(document);
  const summary = parsed.summary;
  return {
    time: parsed.time,
    tree: parsed.tree,
    paths: parsed.paths,
    ...(parsed.parent ? { parent: parsed.parent } : {}),
    ...(parsed.hostname ? { hostname: parsed.hostname } : {}),
    ...(parsed.username ? { username: parsed.username } : {}),
    ...(parsed.uid ? { uid: parsed.uid } : {}),
    ...(parsed.gid ? { gid: parsed.gid } : {}),
    ...(parsed.excludes?.length ? { excludes: parsed.excludes } : {}),
    ...(parsed.tags ? { tags: parsed.tags } : {}),
    ...(parsed.program_version ? { programVersion: parsed.program_version } : {}),
    ...(summary
      ? {
          summary: {
            backupStart: summary.backup_start,
            backupEnd: summary.backup_end,
            filesNew: summary.files_new,
            filesChanged: summary.files_changed,
            filesUnmodified: summary.files_unmodified,
            dirsNew: summary.dirs_new,
            dirsChanged: summary.dirs_changed,
            dirsUnmodified: summary.dirs_unmodified,
            dataBlobs: summary.data_blobs,
            treeBlobs: summary.tree_blobs,
            dataAdded: summary.data_added,
            dataAddedPacked: summary.data_added_packed ?? 0,
            totalFilesProcessed: summary.total_files_processed,
            totalBytesProcessed: summary.total_bytes_processed,
          },
        }
      : {}),
  };
}
