export {
  type BackupError,
  type BackupOptions,
  type BackupResult,
  backup,
} from "./archiver/archiver.ts";
export { compilePattern, PatternList } from "./archiver/patterns.ts";
export {
  type ChunkerTables,
  chunkerTables,
  degree,
  isIrreducible,
  randomPolynomial,
} from "./chunker/polynomial.ts";
export {
  type ChunkEnd,
  chunkBuffer,
  chunkLengths,
  chunkStream,
  maxChunkSize,
  minChunkSize,
  RabinChunker,
} from "./chunker/rabin.ts";
export { defaultScrypt, deriveUserKey, type ScryptParameters } from "./crypto/kdf.ts";
export { type CryptoKey, generateKey, isValidKey, keyFromJson, keyToJson } from "./crypto/key.ts";
export { Poly1305, poly1305 } from "./crypto/poly1305.ts";
export { open, seal, sealOverhead } from "./crypto/seal.ts";
export { EngineError, type EngineErrorCode, isEngineError } from "./errors.ts";
export {
  type CheckOptions,
  type CheckProblem,
  type CheckReport,
  check,
  type DamagedSnapshot,
  selectPacks,
} from "./lifecycle/check.ts";
export { type ForgetOptions, type ForgetResult, forget } from "./lifecycle/forget.ts";
export { addKey, changePassword, type KeyListing, listKeys, type NewKeyOptions, removeKey } from "./lifecycle/keys.ts";
export {
  type MaintenanceKind,
  type MaintenanceOptions,
  type MaintenanceSummary,
  maintain,
} from "./lifecycle/maintenance.ts";
export { type PruneOptions, type PruneSummary, prune } from "./lifecycle/prune.ts";
export { type RepairIndexResult, repairIndex } from "./lifecycle/repair-index.ts";
export {
  formatRetentionDuration,
  type KeptSnapshot,
  parseRetentionDuration,
  planRetention,
  type RetainableSnapshot,
  type RetentionCounters,
  type RetentionDuration,
  type RetentionGroup,
  type RetentionPlan,
  type RetentionPolicy,
  retentionPolicySchema,
} from "./lifecycle/retention.ts";
export { snapshotFolderName } from "./mount/namespace.ts";
export { serveWebdav, type WebdavOptions, type WebdavServer } from "./mount/webdav.ts";
export { type Progress, type ProgressCallback, ProgressMeter } from "./progress.ts";
export {
  configJson,
  decodeConfig,
  encodeConfig,
  newConfig,
  parseConfigJson,
  type RepositoryConfig,
} from "./repository/config.ts";
export { type IndexedPack, indexDocument, parseIndex } from "./repository/index-file.ts";
export {
  createKeyFile,
  type KeyFileInfo,
  type KeyFileOptions,
  keyFileId,
  openKeyFile,
  openMasterKey,
  parseKeyFile,
} from "./repository/keys.ts";
export {
  isStaleLock,
  type LockInfo,
  listLocks,
  lockRepository,
  type RepositoryLock,
  removeStaleLocks,
  withLock,
} from "./repository/lock.ts";
export { type BlobType, decodePackHeader, encodePack, type PackedBlob } from "./repository/pack.ts";
export { type BlobLocation, RepositoryReader } from "./repository/reader.ts";
export { initLocalRepository, initRepository, openRepository, type Repository } from "./repository/repository.ts";
export { parseSnapshot, type Snapshot, type SnapshotSummary, snapshotDocument } from "./repository/snapshot.ts";
export { decodeUnpacked, encodeUnpacked } from "./repository/unpacked.ts";
export { type Compression, RepositoryWriter } from "./repository/writer.ts";
export {
  type OverwritePolicy,
  type RestoreError,
  type RestoreOptions,
  type RestoreSummary,
  restoreSnapshot,
} from "./restore/restorer.ts";
export {
  findInSnapshots,
  findSnapshot,
  listFolder,
  listSnapshots,
  nodeAt,
  type SnapshotEntry,
  type SnapshotFilter,
  type SnapshotWithId,
  type TreeSource,
  walkSnapshot,
} from "./snapshots/browse.ts";
export { BlobCache, type FileLayout, fileLayout, readFileRange } from "./snapshots/file-content.ts";
export {
  type FolderPage,
  listFolderPage,
  type PathVersion,
  pathVersions,
  type SearchHit,
  type SearchOptions,
  type SearchPage,
  searchSnapshots,
  type VersionStatus,
} from "./snapshots/portal.ts";
export { TreeCache } from "./snapshots/tree-cache.ts";
export {
  type ByteRange,
  type FileHandle,
  type FileInfo,
  type FileType,
  handleOf,
  listAll,
  pathOf,
  type StorageBackend,
  StorageError,
} from "./storage/backend.ts";
export { parseBandwidth, parseSize } from "./storage/bandwidth.ts";
export { isStorageError, type StorageErrorCode } from "./storage/errors.ts";
export { FaultyBackend, injected } from "./storage/faulty.ts";
export { createLocalLayout, LocalBackend } from "./storage/local.ts";
export { MemoryBackend } from "./storage/memory.ts";
export { openStorage, prepareStorage, type StorageEnvironment } from "./storage/open.ts";
export { RetryBackend, type RetryPolicy, withRetry } from "./storage/retry.ts";
export { parseS3Location, type S3Location } from "./storage/s3-location.ts";
export { openSyncTarget } from "./sync/open.ts";
export {
  type SyncAction,
  type SyncFileError,
  type SyncOptions,
  type SyncProgress,
  type SyncResult,
  syncFolder,
} from "./sync/sync.ts";
export { quoteName, unquoteName } from "./tree/go-quote.ts";
export { formatGoTime, goNodeTime, nowNanoseconds, parseGoTime, type TimeZone } from "./tree/go-time.ts";
export {
  type ExtendedAttribute,
  goFileMode,
  type NodeFromStatsOptions,
  type NodeType,
  nodeFromStats,
  type TreeNode,
} from "./tree/node.ts";
export {
  decodeTree,
  encodeNode,
  encodeTree,
  goJsonString,
  sortNodes,
  type TreeEncodingOptions,
} from "./tree/tree-json.ts";
