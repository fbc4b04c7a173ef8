export { degree, isIrreducible, randomPolynomial } from "./chunker/polynomial.ts";
export { chunkLengths, maxChunkSize, minChunkSize, RabinChunker } from "./chunker/rabin.ts";
export { defaultScrypt, deriveUserKey, type ScryptParameters } from "./crypto/kdf.ts";
export { type CryptoKey, open, seal, sealOverhead } from "./crypto/seal.ts";
export { EngineError, type EngineErrorCode } from "./errors.ts";
export { decodeConfig, type RepositoryConfig } from "./repository/config.ts";
export { type IndexedPack, indexDocument, parseIndex } from "./repository/index-file.ts";
export { createKeyFile, encodeConfig, initLocalRepository, initRepository, newMasterKey } from "./repository/init.ts";
export { openMasterKey } from "./repository/keys.ts";
export { type BlobType, decodePackHeader, encodePack, type PackedBlob } from "./repository/pack.ts";
export { type BlobLocation, RepositoryReader } from "./repository/reader.ts";
export { parseSnapshot, type Snapshot, type SnapshotSummary, snapshotDocument } from "./repository/snapshot.ts";
export { decodeUnpacked, encodeUnpacked } from "./repository/unpacked.ts";
export { type Compression, RepositoryWriter } from "./repository/writer.ts";
export {
  type ByteRange,
  type FileHandle,
  type FileType,
  handleOf,
  pathOf,
  type StorageBackend,
  StorageError,
} from "./storage/backend.ts";
export { createLocalLayout, LocalBackend } from "./storage/local.ts";
export { quoteName, unquoteName } from "./tree/go-quote.ts";
export { formatGoTime, goFileMode, nodeFromStats } from "./tree/node.ts";
export {
  decodeTree,
  encodeNode,
  encodeTree,
  goJsonString,
  type NodeType,
  sortNodes,
  type TreeNode,
} from "./tree/tree-json.ts";
