// rclone's object conventions on S3 (engine-reference §5.1), so rclone and e3 read each other's uploads: the file's
// mtime in the `mtime` user metadata, the whole-file MD5 in `md5chksum` when the ETag cannot be one (multipart),
// and the ETag itself as the MD5 when it looks like one.

/** User-metadata keys as S3 returns them (lower-cased, without the `x-amz-meta-` prefix). */
export const mtimeKey = "mtime";
export const md5Key = "md5chksum";

const nsPerSecond = 1_000_000_000n;

/**
 * An mtime in nanoseconds since the epoch as rclone writes it: decimal seconds, up to 9 fractional digits, trailing
 * zeros dropped, no `.` for whole seconds (`1700000000`, `1700000000.5`, `1354040105.123456789`).
 */
export function formatMtime(nanoseconds: bigint): string {
  const negative = nanoseconds < 0n;
  const magnitude = negative ? -nanoseconds : nanoseconds;
  const seconds = magnitude / nsPerSecond;
  const fraction = (magnitude % nsPerSecond).toString().padStart(9, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${seconds}${fraction ? `.${fraction}` : ""}`;
}

/** rclone's mtime metadata back to nanoseconds; digits past the ninth are cut, as rclone cuts them. Undefined: unusable. */
export function parseMtime(text: string | undefined): bigint | undefined {
  const match = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text?.trim() ?? "");
  if (!match) return undefined;
  const fraction = BigInt((match[3] ?? "").slice(0, 9).padEnd(9, "0"));
  const value = BigInt(match[2]!) * nsPerSecond + fraction;
  return match[1] ? -value : value;
}

/** The MD5 (lower-case hex) an ETag stands for: only a plain 32-digit hex ETag is one (multipart ETags end `-N`). */
export function md5FromEtag(etag: string | undefined): string | undefined {
  const bare = etag?.replace(/^"|"$/g, "").toLowerCase();
  return bare && /^[0-9a-f]{32}$/.test(bare) ? bare : undefined;
}

/** `md5chksum` metadata (base64 of the 16 raw bytes) as hex; ignored unless it decodes to exactly 16 bytes. */
export function md5FromMetadata(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const bytes = Buffer.from(value, "base64");
  return bytes.byteLength === 16 ? bytes.toString("hex") : undefined;
}

/** Hex MD5 → the base64 form of Content-MD5 and `md5chksum`. */
export function md5Base64(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}
