import type { Readable } from "node:stream";
import { StorageError } from "./errors.ts";
import { header, metadataHeaders, type S3Http } from "./s3-http.ts";
import { keyDecoder, xmlElements, xmlEscape, xmlText } from "./s3-xml.ts";

// Multipart uploads over the lean S3 client (s3-http.ts): start one, send its parts, complete or abort it, and
// list the open ones (to abort what a killed run left behind). Each is one signed request; retries are the
// caller's.

export type UploadPage = {
  uploads: { key: string; uploadId: string; initiatedMs: number }[];
  next: { keyMarker: string; uploadIdMarker: string } | undefined;
};

export async function listMultipartUploads(
  client: S3Http,
  prefix: string,
  marker: UploadPage["next"],
  what: string,
  signal: AbortSignal | undefined,
): Promise<UploadPage> {
  const query: Record<string, string> = { uploads: "", "encoding-type": "url" };
  if (prefix) query.prefix = prefix;
  if (client.listPageSize) query["max-uploads"] = String(client.listPageSize);
  if (marker) {
    query["key-marker"] = marker.keyMarker;
    query["upload-id-marker"] = marker.uploadIdMarker;
  }
  const { body } = await client.send({ method: "GET", query, what, signal });
  const decodeKey = keyDecoder(body);
  const uploads = xmlElements(body, "Upload").map((entry) => ({
    key: decodeKey(xmlText(entry, "Key") ?? ""),
    uploadId: xmlText(entry, "UploadId") ?? "",
    initiatedMs: Date.parse(xmlText(entry, "Initiated") ?? ""),
  }));
  const truncated = xmlText(body, "IsTruncated") === "true";
  const keyMarker = xmlText(body, "NextKeyMarker");
  return {
    uploads,
    next:
      truncated && keyMarker
        ? { keyMarker: decodeKey(keyMarker), uploadIdMarker: xmlText(body, "NextUploadIdMarker") ?? "" }
        : undefined,
  };
}

export async function createMultipartUpload(
  client: S3Http,
  key: string,
  metadata: Record<string, string>,
  what: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const { body } = await client.send({
    method: "POST",
    key,
    query: { uploads: "" },
    headers: { "content-type": "application/octet-stream", ...metadataHeaders(metadata) },
    what,
    signal,
  });
  const uploadId = xmlText(body, "UploadId");
  if (!uploadId) throw new StorageError("STORAGE_ERROR", `${client.location}: ${what}: the server gave no upload id`);
  return uploadId;
}

export async function uploadPart(
  client: S3Http,
  key: string,
  uploadId: string,
  partNumber: number,
  body: Buffer | Readable,
  options: { contentLength: number; contentMd5: string; what: string },
  signal: AbortSignal | undefined,
): Promise<string> {
  const response = await client.send({
    method: "PUT",
    key,
    query: { partNumber: String(partNumber), uploadId },
    body,
    contentLength: options.contentLength,
    headers: { "content-md5": options.contentMd5 },
    what: options.what,
    signal,
  });
  const etag = header(response.headers, "etag");
  if (!etag) throw new StorageError("STORAGE_ERROR", `${client.location}: ${options.what}: the part has no ETag`);
  return etag;
}

export async function completeMultipartUpload(
  client: S3Http,
  key: string,
  uploadId: string,
  etags: string[],
  what: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const parts = etags
    .map((etag, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>${xmlEscape(etag)}</ETag></Part>`)
    .join("");
  const document = Buffer.from(`<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`);
  const { body } = await client.send({
    method: "POST",
    key,
    query: { uploadId },
    body: document,
    contentLength: document.byteLength,
    headers: { "content-type": "application/xml" },
    what,
    signal,
  });
  return xmlText(body, "ETag") ?? "";
}

export async function abortMultipartUpload(
  client: S3Http,
  key: string,
  uploadId: string,
  what: string,
  signal: AbortSignal,
): Promise<void> {
  await client.send({ method: "DELETE", key, query: { uploadId }, what, signal });
}
