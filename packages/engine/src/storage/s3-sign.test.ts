import { describe, expect, it } from "vitest";
import { authorization, canonicalQuery, signingKey, uriEncode } from "./s3-sign.ts";

// The lean S3 client's pure parts: SigV4 against the worked examples of AWS's S3 documentation ("Signature
// Calculations for the Authorization Header: Transferring Payload in a Single Chunk") and S3's URI encoding. The
// client's requests against a real server are in test/storage-s3-http.test.ts.

const accessKeyId = "AKIAIOSFODNN7EXAMPLE";
const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const key = signingKey(secret, "20130524", "us-east-1");
const emptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const signatureOf = (header: string) => /Signature=([0-9a-f]{64})$/.exec(header)?.[1];

describe("SigV4 as AWS documents it", () => {
  it("GET an object with a Range header", () => {
    const header = authorization({
      method: "GET",
      path: "/test.txt",
      query: "",
      headers: {
        host: "examplebucket.s3.amazonaws.com",
        range: "bytes=0-9",
        "x-amz-content-sha256": emptySha256,
        "x-amz-date": "20130524T000000Z",
      },
      accessKeyId,
      region: "us-east-1",
      key,
    });
    expect(header).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
  });

  it("PUT an object whose name needs encoding, with a signed payload hash", () => {
    const header = authorization({
      method: "PUT",
      path: `/${uriEncode("test$file.text", true)}`,
      query: "",
      headers: {
        date: "Fri, 24 May 2013 00:00:00 GMT",
        host: "examplebucket.s3.amazonaws.com",
        "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "content-length": "21",
      },
      accessKeyId,
      region: "us-east-1",
      key,
    });
    expect(header).toContain("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,");
    expect(signatureOf(header)).toBe("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  });

  it("GET a bucket's sub-resource and a listing with a query", () => {
    const headers = {
      host: "examplebucket.s3.amazonaws.com",
      "x-amz-content-sha256": emptySha256,
      "x-amz-date": "20130524T000000Z",
    };
    const sign = (query: Record<string, string>) =>
      signatureOf(
        authorization({
          method: "GET",
          path: "/",
          query: canonicalQuery(query),
          headers,
          accessKeyId,
          region: "us-east-1",
          key,
        }),
      );
    expect(sign({ lifecycle: "" })).toBe("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    expect(sign({ prefix: "J", "max-keys": "2" })).toBe(
      "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    );
  });
});

describe("S3's URI encoding", () => {
  it("encodes everything but unreserved characters, keeping slashes in paths", () => {
    expect(uriEncode("a b+c/d~e_f.g-h")).toBe("a%20b%2Bc%2Fd~e_f.g-h");
    expect(uriEncode("a b/ü!'()*", true)).toBe("a%20b/%C3%BC%21%27%28%29%2A");
    expect(canonicalQuery({ uploads: "", prefix: "a b/", "list-type": "2" })).toBe(
      "list-type=2&prefix=a%20b%2F&uploads=",
    );
  });
});
