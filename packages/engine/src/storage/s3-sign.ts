import { createHash, createHmac } from "node:crypto";

// AWS Signature Version 4 in its header form, as the lean S3 client (s3-http.ts) signs every request: the day's
// signing key derived once a day, the payload unsigned as rclone sends it (`UNSIGNED-PAYLOAD`; PUTs carry
// Content-MD5, which the server verifies), and S3's own URI encoding. Pure but for the clock.

export type S3Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export const emptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** Signs requests for one region, keeping the day's key until the day or the secret changes. */
export class S3Signer {
  readonly #region: string;
  #signingKey: { day: string; secret: string; key: Buffer } | undefined;

  constructor(region: string) {
    this.#region = region;
  }

  /**
   * Adds `x-amz-date`, `x-amz-content-sha256`, the session token if any, and `authorization` to `headers`
   * (lower-case names, `host` included); `path` and `query` are already canonical (uriEncode, canonicalQuery).
   */
  sign(
    method: string,
    path: string,
    query: string,
    headers: Record<string, string>,
    credentials: S3Credentials,
    noBody: boolean,
  ): void {
    const now = new Date().toISOString();
    const amzDate = `${now.slice(0, 4)}${now.slice(5, 7)}${now.slice(8, 13)}${now.slice(14, 16)}${now.slice(17, 19)}Z`;
    headers["x-amz-date"] = amzDate;
    headers["x-amz-content-sha256"] = noBody ? emptySha256 : "UNSIGNED-PAYLOAD";
    if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
    // The day's signing key (four HMACs) is derived once a day, and again when the secret changes.
    const day = amzDate.slice(0, 8);
    let known = this.#signingKey;
    if (known?.day !== day || known.secret !== credentials.secretAccessKey) {
      known = {
        day,
        secret: credentials.secretAccessKey,
        key: signingKey(credentials.secretAccessKey, day, this.#region),
      };
      this.#signingKey = known;
    }
    headers.authorization = authorization({
      method,
      path,
      query,
      headers,
      accessKeyId: credentials.accessKeyId,
      region: this.#region,
      key: known.key,
    });
  }
}

/** SigV4's key for one day, region and service `s3`. */
export function signingKey(secret: string, day: string, region: string): Buffer {
  let key = createHmac("sha256", `AWS4${secret}`).update(day).digest();
  for (const part of [region, "s3", "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  return key;
}

/**
 * The Authorization header of AWS Signature Version 4 for a request whose `headers` (lower-case names) hold
 * everything to sign, `x-amz-date` and `x-amz-content-sha256` included; `path` and `query` are already
 * canonical (uriEncode, canonicalQuery). Every header but Content-Length is signed.
 */
export function authorization(input: {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  accessKeyId: string;
  region: string;
  key: Buffer;
}): string {
  const { headers } = input;
  const amzDate = headers["x-amz-date"] ?? "";
  const names = Object.keys(headers)
    .filter((name) => name !== "content-length" && name !== "authorization")
    .sort();
  const canonicalHeaders = names.map((name) => `${name}:${headers[name]!.trim().replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    input.method,
    input.path,
    input.query,
    canonicalHeaders,
    signedHeaders,
    headers["x-amz-content-sha256"] ?? emptySha256,
  ].join("\n");
  const scope = `${amzDate.slice(0, 8)}/${input.region}/s3/aws4_request`;
  const digest = createHash("sha256").update(canonicalRequest).digest("hex");
  const signature = createHmac("sha256", input.key)
    .update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${digest}`)
    .digest("hex");
  return `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

const plainComponent = /^[A-Za-z0-9\-_.~]*$/;
const plainPath = /^[A-Za-z0-9\-_.~/]*$/;

/** RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ (and `/` in paths). */
export function uriEncode(text: string, keepSlash = false): string {
  if ((keepSlash ? plainPath : plainComponent).test(text)) return text;
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replace(/%2F/g, "/") : encoded;
}

export function canonicalQuery(query: Record<string, string> | undefined): string {
  if (!query) return "";
  return Object.keys(query)
    .map((name) => [uriEncode(name), uriEncode(query[name]!)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}
