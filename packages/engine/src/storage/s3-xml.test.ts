import { describe, expect, it } from "vitest";
import { xmlDecode, xmlElements, xmlText } from "./s3-xml.ts";

// The hand-read XML of the lean S3 client's answers.

describe("S3's XML answers", () => {
  it("reads elements and decodes entities", () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="x"><Contents><Key>a&amp;b</Key>' +
      "<ETag>&quot;abc&quot;</ETag></Contents><Contents><Key>&#x1F600;&#65;&lt;&gt;&apos;</Key></Contents>" +
      "<Prefix/></ListBucketResult>";
    const entries = xmlElements(xml, "Contents");
    expect(entries.map((entry) => xmlText(entry, "Key"))).toEqual(["a&b", "😀A<>'"]);
    expect(xmlText(entries[0]!, "ETag")).toBe('"abc"');
    expect(xmlText(xml, "Prefix")).toBe("");
    expect(xmlText(xml, "Missing")).toBeUndefined();
    expect(xmlDecode("&bogus; &#x110000;")).toBe("&bogus; &#x110000;");
  });
});
