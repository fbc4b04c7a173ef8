import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { EngineError } from "../errors.ts";
import {
  compactGoJson,
  goJsonBytes,
  goJsonString,
  JsonNumber,
  parseJsonKeepingNumbers,
  stringifyGoJson,
} from "./go-json.ts";
import { quoteName, unquoteName } from "./go-quote.ts";
import { type ExtendedAttribute, type NodeType, nodeTypes, type TreeNode } from "./node.ts";

// Tree blobs, byte for byte as restic writes them (engine-reference §1.9): `{"nodes":[…]}` plus "\n" (restic's
// TreeJSONBuilder), nodes strictly increasing by the bytes of their names (Go string order — readers merge by it and
// silently miss entries otherwise), node fields in Go's struct order with Go's omitempty, `content` always present,
// names Go-quoted (go-quote.ts) and every string escaped as Go's encoding/json does (go-json.ts). The same nodes
// therefore give restic's tree id, which lets trees dedup between the two tools.

export { goJsonString } from "./go-json.ts";
export type { ExtendedAttribute, NodeType, TreeNode } from "./node.ts";

export type TreeEncodingOptions = {
  /**
   * Write `linktarget_raw` (exact bytes, base64) next to `linktarget` when a symlink target is not valid UTF-8, as
   * restic ≥ 0.16 does. Off reproduces restic 0.14/0.15 trees. Default on.
   */
  linkTargetRaw?: boolean;
};

const idPattern = /^[0-9a-f]{64}$/;

const uint64Limit = 1n << 64n;

// The checks below run for every field of every node a backup writes, so the error's wording (`where`) is only built
// when one fails: eager template strings were ~10 strings per node, a measurable part of a backup's garbage.

/** How errors name a node and one of its fields. */
const where = (node: TreeNode, field?: string) =>
  `node ${JSON.stringify(node.name.toString())}${field === undefined ? "" : ` ${field}`}`;

function uint(value: bigint, node: TreeNode, field: string): string {
  if (value < 0n || value >= uint64Limit) {
    throw new EngineError("INVALID_TREE", `${where(node, field)} must be an unsigned integer, not ${value}`);
  }
  return value.toString();
}

function uint32(value: number, node: TreeNode, field: string): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new EngineError("INVALID_TREE", `${where(node, field)} must be a 32-bit unsigned integer, not ${value}`);
  }
  return value.toString();
}

function blobId(id: string, node: TreeNode, field: string): string {
  if (!idPattern.test(id)) {
    throw new EngineError("INVALID_TREE", `${where(node, field)} is not a blob id: ${JSON.stringify(id)}`);
  }
  return `"${id}"`;
}

const linkTargetBytes = (target: Buffer | string) => (typeof target === "string" ? Buffer.from(target) : target);

/** One node's JSON object (no trailing newline). */
export function encodeNode(node: TreeNode, options: TreeEncodingOptions = {}): string {
  if (node.name.length === 0)
    throw new EngineError("INVALID_TREE", "a node needs a name (restic check refuses empty names)");
  if (!nodeTypes.includes(node.type))
    throw new EngineError("INVALID_TREE", `${where(node)} has unknown type ${node.type}`);
  let json = `{"name":${goJsonString(quoteName(node.name))},"type":"${node.type}"`;
  if (node.mode) json += `,"mode":${uint32(node.mode, node, "mode")}`;
  json += `,"mtime":${goJsonString(node.mtime)},"atime":${goJsonString(node.atime)},"ctime":${goJsonString(node.ctime)}`;
  json += `,"uid":${uint32(node.uid, node, "uid")},"gid":${uint32(node.gid, node, "gid")}`;
  if (node.user) json += `,"user":${goJsonString(node.user)}`;
  if (node.group) json += `,"group":${goJsonString(node.group)}`;
  if (node.inode) json += `,"inode":${uint(node.inode, node, "inode")}`;
  if (node.deviceId) json += `,"device_id":${uint(node.deviceId, node, "device_id")}`;
  if (node.size) json += `,"size":${uint(node.size, node, "size")}`;
  if (node.links) json += `,"links":${uint(node.links, node, "links")}`;
  if (node.linktarget !== undefined && node.linktarget.length > 0) {
    const target = linkTargetBytes(node.linktarget);
    json += `,"linktarget":${goJsonBytes(target)}`;
    if ((options.linkTargetRaw ?? true) && !isUtf8(target)) json += `,"linktarget_raw":"${target.toString("base64")}"`;
  }
  if (node.extendedAttributes?.length) {
    const attributes = node.extendedAttributes.map(
      ({ name, value }) =>
        `{"name":${goJsonString(name)},"value":${value === null ? "null" : `"${value.toString("base64")}"`}}`,
    );
    json += `,"extended_attributes":[${attributes.join(",")}]`;
  }
  const generic = node.genericAttributes ? Object.entries(node.genericAttributes) : [];
  if (generic.length > 0) {
    // Go writes map keys sorted by their bytes; the values are json.RawMessage, compacted.
    generic.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const members = generic.map(([name, raw]) => {
      try {
        JSON.parse(raw);
      } catch (error) {
        throw new EngineError("INVALID_TREE", `${where(node)} generic attribute ${name} is not JSON`, { cause: error });
      }
      return `${goJsonString(name)}:${compactGoJson(raw)}`;
    });
    json += `,"generic_attributes":{${members.join(",")}}`;
  }
  if (node.device) json += `,"device":${uint(node.device, node, "device")}`;
  json +=
    node.content === null
      ? `,"content":null`
      : `,"content":[${node.content.map((id) => blobId(id, node, "content")).join(",")}]`;
  if (node.subtree) json += `,"subtree":${blobId(node.subtree, node, "subtree")}`;
  if (node.error) json += `,"error":${goJsonString(node.error)}`;
  return `${json}}`;
}

/** Sorts by name bytes (Go string order), not JavaScript's UTF-16 order, which puts astral characters too early. */
export function sortNodes(nodes: readonly TreeNode[]): TreeNode[] {
  return [...nodes].sort((a, b) => Buffer.compare(a.name, b.name));
}

/** The tree blob for `nodes` (sorted here) and its id; INVALID_TREE on duplicate names or invalid nodes. */
export function encodeTree(
  nodes: readonly TreeNode[],
  options: TreeEncodingOptions = {},
): { id: string; bytes: Buffer } {
  const sorted = sortNodes(nodes);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]!.name.equals(sorted[i]!.name)) {
      throw new EngineError("INVALID_TREE", `two nodes are named ${JSON.stringify(sorted[i]!.name.toString())}`);
    }
  }
  const bytes = Buffer.from(`{"nodes":[${sorted.map((node) => encodeNode(node, options)).join(",")}]}\n`);
  return { id: createHash("sha256").update(bytes).digest("hex"), bytes };
}

const bigFields = new Set(["inode", "device_id", "size", "links", "device"]);

/** Parses a tree blob into nodes; unknown keys are ignored (newer restic fields), 64-bit integers stay exact. */
export function decodeTree(bytes: Uint8Array): TreeNode[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  let parsed: unknown;
  try {
    if (text.includes('"generic_attributes"')) {
      parsed = parseJsonKeepingNumbers(text); // rare (Windows): keep raw numbers inside attribute values exactly
    } else if (/:\s*-?\d{16,}/.test(text)) {
      // Some number may exceed 2^53 (inodes do): keep the digits of the 64-bit fields. The reviver costs ~3×.
      parsed = JSON.parse(text, (key, value: unknown, context?: { source?: string }) =>
        bigFields.has(key) && typeof value === "number" ? new JsonNumber(context?.source ?? String(value)) : value,
      );
    } else {
      parsed = JSON.parse(text); // every number has at most 15 digits: exact as a double
    }
  } catch (error) {
    throw new EngineError("INVALID_TREE", "the tree blob is not JSON", { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new EngineError("INVALID_TREE", "the tree blob is not a JSON object");
  }
  const list = (parsed as { nodes?: unknown }).nodes;
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) throw new EngineError("INVALID_TREE", "the tree blob's nodes are not a list");
  return list.map((raw: unknown, index) => decodeNode(raw, index));
}

function decodeNode(raw: unknown, index: number): TreeNode {
  const fail = (why: string): never => {
    throw new EngineError("INVALID_TREE", `tree node ${index}: ${why}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("not an object");
  const r = raw as Record<string, unknown>;
  const string = (key: string, fallback?: string): string => {
    const value = r[key];
    if (typeof value === "string") return value;
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    return fail(`${key} is not a string`);
  };
  const integer = (key: string): bigint | undefined => {
    const value = r[key];
    if (value === undefined || value === null) return undefined;
    // Most fields: a JSON number below 2^53 (larger ones came from the parser as JsonNumber, digits kept).
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
    const source = value instanceof JsonNumber ? value.source : typeof value === "number" ? String(value) : null;
    if (source === null || !/^\d+$/.test(source)) return fail(`${key} is not an unsigned integer`);
    const big = BigInt(source);
    if (big >= 1n << 64n) fail(`${key} does not fit 64 bits`);
    return big;
  };
  const small = (key: string): number | undefined => {
    const value = integer(key);
    if (value !== undefined && value > 0xffff_ffffn) fail(`${key} does not fit 32 bits`);
    return value === undefined ? undefined : Number(value);
  };
  const type = string("type") as NodeType;
  if (!nodeTypes.includes(type)) fail(`unknown type ${JSON.stringify(type)}`);
  // Go leaves missing times at the zero time, which it writes as 0001-01-01T00:00:00Z.
  const zeroTime = "0001-01-01T00:00:00Z";
  const node: TreeNode = {
    name: unquoteName(string("name")),
    type,
    mtime: string("mtime", zeroTime),
    atime: string("atime", zeroTime),
    ctime: string("ctime", zeroTime),
    uid: small("uid") ?? 0,
    gid: small("gid") ?? 0,
    content: null,
  };
  const mode = small("mode");
  if (mode) node.mode = mode;
  if (typeof r.user === "string" && r.user) node.user = r.user;
  if (typeof r.group === "string" && r.group) node.group = r.group;
  const inode = integer("inode");
  if (inode) node.inode = inode;
  const deviceId = integer("device_id");
  if (deviceId) node.deviceId = deviceId;
  const size = integer("size");
  if (size) node.size = size;
  const links = integer("links");
  if (links) node.links = links;
  // restic ≥ 0.16: linktarget_raw, when present, holds the exact bytes and wins over linktarget.
  if (typeof r.linktarget_raw === "string" && r.linktarget_raw)
    node.linktarget = Buffer.from(r.linktarget_raw, "base64");
  else if (typeof r.linktarget === "string" && r.linktarget) node.linktarget = Buffer.from(r.linktarget, "utf8");
  if (Array.isArray(r.extended_attributes) && r.extended_attributes.length > 0) {
    node.extendedAttributes = r.extended_attributes.map((item: unknown): ExtendedAttribute => {
      const attribute = item as { name?: unknown; value?: unknown } | null;
      if (typeof attribute?.name !== "string") return fail("an extended attribute has no name");
      const value = attribute.value;
      if (value !== null && typeof value !== "string")
        return fail(`extended attribute ${attribute.name} is not base64`);
      return { name: attribute.name, value: value === null ? null : Buffer.from(value, "base64") };
    });
  }
  if (typeof r.generic_attributes === "object" && r.generic_attributes !== null) {
    const entries = Object.entries(r.generic_attributes as Record<string, unknown>);
    if (entries.length > 0) {
      node.genericAttributes = Object.fromEntries(entries.map(([key, value]) => [key, stringifyGoJson(value)]));
    }
  }
  const device = integer("device");
  if (device) node.device = device;
  if (Array.isArray(r.content)) {
    node.content = r.content.map((id: unknown) =>
      typeof id === "string" && idPattern.test(id) ? id : fail("content holds something that is not a blob id"),
    );
  } else if (r.content !== null && r.content !== undefined) {
    fail("content is neither a list nor null");
  }
  if (r.subtree !== undefined && r.subtree !== null) {
    if (typeof r.subtree !== "string" || !idPattern.test(r.subtree)) fail("subtree is not a blob id");
    node.subtree = r.subtree as string;
  }
  if (typeof r.error === "string" && r.error) node.error = r.error;
  return node;
}
