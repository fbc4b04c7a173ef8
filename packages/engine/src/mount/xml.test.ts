import { describe, expect, it } from "vitest";
import { snapshotFolderName } from "./namespace.ts";
import { escapeXml, parsePropfind, XmlError } from "./xml.ts";

// PROPFIND bodies as real clients send them (Windows' mini-redirector, macOS Finder, davfs2, cadaver, litmus-style
// variations): namespaces by prefix or default, comments and declarations, and bodies a server must refuse.

describe("parsePropfind", () => {
  it.each([
    { name: "an empty body (allprop)", body: "", expected: { kind: "allprop" } },
    {
      name: "allprop with a prefix",
      body: '<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>',
      expected: { kind: "allprop" },
    },
    {
      name: "propname with the default namespace",
      body: '<propfind xmlns="DAV:"><propname/></propfind>',
      expected: { kind: "propname" },
    },
    {
      name: "Windows asking for its own properties",
      body:
        '<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:prop xmlns:Z="urn:schemas-microsoft-com:">' +
        "<D:getcontentlength/><Z:Win32FileAttributes/><D:resourcetype/></D:prop></D:propfind>",
      expected: {
        kind: "prop",
        names: [
          { ns: "DAV:", local: "getcontentlength" },
          { ns: "urn:schemas-microsoft-com:", local: "Win32FileAttributes" },
          { ns: "DAV:", local: "resourcetype" },
        ],
      },
    },
    {
      name: "a namespace declared on the property itself, comments and whitespace",
      body: `<?xml version="1.0"?>
        <!-- Finder -->
        <D:propfind xmlns:D="DAV:">
          <D:prop>
            <D:getlastmodified />
            <x:executable xmlns:x="http://apache.org/dav/props/"/>
          </D:prop>
        </D:propfind>`,
      expected: {
        kind: "prop",
        names: [
          { ns: "DAV:", local: "getlastmodified" },
          { ns: "http://apache.org/dav/props/", local: "executable" },
        ],
      },
    },
    {
      name: "single-quoted attributes and an empty prop",
      body: "<a:propfind xmlns:a='DAV:'><a:prop></a:prop></a:propfind>",
      expected: { kind: "prop", names: [] },
    },
  ])("$name", ({ body, expected }) => {
    expect(parsePropfind(body)).toEqual(expected);
  });

  it.each([
    { name: "not XML", body: "<nope" },
    { name: "another root element", body: '<D:lockinfo xmlns:D="DAV:"/>' },
    { name: "an undeclared prefix", body: "<D:propfind><D:allprop/></D:propfind>" },
    { name: "propfind outside DAV:", body: '<propfind xmlns="urn:other"><allprop/></propfind>' },
  ])("refuses $name", ({ body }) => {
    expect(() => parsePropfind(body)).toThrow(XmlError);
  });
});

describe("escapeXml", () => {
  it.each([
    ["a & b <c> \"d\" 'e'", "a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"],
    ["bell\u0007 and tab\t", "bell\ufffd and tab\t"],
    ["ünïcödé", "ünïcödé"],
  ])("%j", (text, escaped) => {
    expect(escapeXml(text)).toBe(escaped);
  });
});

describe("snapshotFolderName", () => {
  it.each([
    ["2026-12-01T08:59:41.123456789+01:00", "2026-12-01T07-59-41Z"],
    ["2026-12-01T07:59:41Z", "2026-12-01T07-59-41Z"],
    ["1999-12-31T23:59:59.999-05:00", "2000-01-01T04-59-59Z"],
  ])("%s", (time, name) => {
    expect(snapshotFolderName(time)).toBe(name);
    expect(name).not.toMatch(/[:\\/*?"<>|]/);
  });
});
