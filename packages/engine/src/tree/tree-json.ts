import { createHash } from "node:crypto";
import { quoteName, unquoteName } from "./go-quote.ts";

// Tree blobs, byte for byte as restic writes them (engine-reference §1.9): `{"nodes":[…]}\n`, nodes sorted by the
// bytes of their names (which are stored Go-quoted, go-quote.ts), node fields in Go's struct order with Go's omitempty, `content` always present, and strings
// escaped the way Go's encoding/json does (<, >, &, U+2028, U+2029 and control characters as \u00XX, except \n \r
// \t). Identical input therefore gives restic's tree id, which is what makes trees dedup across the two tools.

export type NodeType = "file" | "dir" | "symlink" | "dev" | "chardev" | "fifo" | "socket" | "irregular";

export type TreeNode = {
  /** The name's bytes as the file system gave them (not necessarily UTF-8). */
  name: Buffer;
  type: NodeType;
  mode?: number;
  /** RFC 3339 with nanoseconds, as Go prints them (see formatGoTime). */
  mtime: string;
  atime: string;
  ctime: string;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  inode?: bigint;
  deviceId?: bigint;
  size?: bigint;
  links?: bigint;
  linktarget?: string;
  extendedAttributes?: { name: string; value: Buffer }[];
  device?: bigint;
  /** Chunk ids of a file in order; null for everything that is not a file. */
  content: string[] | null;
  subtree?: string;
  error?: string;
};

/** A string as Go's encoding/json writes it. */
export function goJsonString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]|\\[bf]/g, (match) => {
    switch (match) {
      case "\\b":
        return "\\u0008";
      case "\\f":
        return "\\u000c";
      default:
        return `\\u${match.charCodeAt(0).toString(16).padStart(4, "0")}`;
    }
  });
}

function field(name: string, json: string): string {
  return `${goJsonString(name)}:${json}`;
}

export function encodeNode(node: TreeNode): string {
  const parts = [field("name", goJsonString(quoteName(node.name))), field("type", goJsonString(node.type))];
  if (node.mode) parts.push(field("mode", String(node.mode)));
  parts.push(field("mtime", goJsonString(node.mtime)), field("atime", goJsonString(node.atime)));
  parts.push(field("ctime", goJsonString(node.ctime)));
  parts.push(field("uid", String(node.uid)), field("gid", String(node.gid)));
  if (node.user) parts.push(field("user", goJsonString(node.user)));
  if (node.group) parts.push(field("group", goJsonString(node.group)));
  if (node.inode) parts.push(field("inode", node.inode.toString()));
  if (node.deviceId) parts.push(field("device_id", node.deviceId.toString()));
  if (node.size) parts.push(field("size", node.size.toString()));
  if (node.links) parts.push(field("links", node.links.toString()));
  if (node.linktarget) parts.push(field("linktarget", goJsonString(node.linktarget)));
  if (node.extendedAttributes?.length) {
    const attributes = node.extendedAttributes.map(
      (attribute) =>
        `{"name":${goJsonString(attribute.name)},"value":${goJsonString(attribute.value.toString("base64"))}}`,
    );
    parts.push(field("extended_attributes", `[${attributes.join(",")}]`));
  }
  if (node.device) parts.push(field("device", node.device.toString()));
  parts.push(field("content", node.content === null ? "null" : `[${node.content.map((id) => `"${id}"`).join(",")}]`));
  if (node.subtree) parts.push(field("subtree", `"${node.subtree}"`));
  if (node.error) parts.push(field("error", goJsonString(node.error)));
  return `{${parts.join(",")}}`;
}

/** Sorts by name bytes (Go string order), not JavaScript's UTF-16 order, which differs for astral characters. */
export function sortNodes(nodes: TreeNode[]): TreeNode[] {
  return [...nodes].sort((a, b) => Buffer.compare(a.name, b.name));
}

export function encodeTree(nodes: TreeNode[]): { id: string; bytes: Buffer } {
  const bytes = Buffer.from(`{"nodes":[${sortNodes(nodes).map(encodeNode).join(",")}]}\n`);
  return { id: createHash("sha256").update(bytes).digest("hex"), bytes };
}

type RawNode = Record<string, unknown>;
const bigFields = new Set(["inode", "device_id", "size", "links", "device"]);

/** Parses a tree blob; 64-bit integer fields become bigint without losing precision (inodes exceed 2^53). */
export function decodeTree(bytes: Uint8Array): TreeNode[] {
  const parsed = JSON.parse(Buffer.from(bytes).toString("utf8"), (key, value, context?: { source?: string }) =>
    bigFields.has(key) && typeof value === "number" && context?.source ? BigInt(context.source) : value,
  ) as { nodes: RawNode[] | null };
  return (parsed.nodes ?? []).map((raw) => {
    const node: TreeNode = {
      name: unquoteName(raw.name as string),
      type: raw.type as NodeType,
      mtime: raw.mtime as string,
      atime: raw.atime as string,
      ctime: raw.ctime as string,
      uid: raw.uid as number,
      gid: raw.gid as number,
      content: (raw.content as string[] | null) ?? null,
    };
    if (raw.mode !== undefined) node.mode = raw.mode as number;
    if (raw.user !== undefined) node.user = raw.user as string;
    if (raw.group !== undefined) node.group = raw.group as string;
    if (raw.inode !== undefined) node.inode = raw.inode as bigint;
    if (raw.device_id !== undefined) node.deviceId = raw.device_id as bigint;
    if (raw.size !== undefined) node.size = raw.size as bigint;
    if (raw.links !== undefined) node.links = raw.links as bigint;
    if (raw.linktarget !== undefined) node.linktarget = raw.linktarget as string;
    if (Array.isArray(raw.extended_attributes)) {
      node.extendedAttributes = (raw.extended_attributes as { name: string; value: string }[]).map((attribute) => ({
        name: attribute.name,
        value: Buffer.from(attribute.value, "base64"),
      }));
    }
    if (raw.device !== undefined) node.device = raw.device as bigint;
    if (raw.subtree !== undefined) node.subtree = raw.subtree as string;
    if (raw.error !== undefined) node.error = raw.error as string;
    return node;
  });
}
