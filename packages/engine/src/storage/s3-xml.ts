// The few XML answers of S3 the lean client (s3-http.ts) reads, read by hand: flat documents of known shape,
// where a parser would cost more than the request.

/** The text of the first `<tag>…</tag>` in `xml`, entities decoded. */
export function xmlText(xml: string, tag: string): string | undefined {
  const open = `<${tag}>`;
  const start = xml.indexOf(open);
  if (start < 0) return xml.includes(`<${tag}/>`) ? "" : undefined;
  const end = xml.indexOf(`</${tag}>`, start + open.length);
  if (end < 0) return undefined;
  return xmlDecode(xml.slice(start + open.length, end));
}

/** The inner XML of every `<tag>…</tag>` (not nested in itself). */
export function xmlElements(xml: string, tag: string): string[] {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  const out: string[] = [];
  for (let at = xml.indexOf(open); at >= 0; at = xml.indexOf(open, at)) {
    const end = xml.indexOf(close, at + open.length);
    if (end < 0) break;
    out.push(xml.slice(at + open.length, end));
    at = end + close.length;
  }
  return out;
}

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function xmlDecode(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (whole, name: string) => {
    if (name[0] !== "#") return entities[name] ?? whole;
    const point = name[1] === "x" ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
    return point <= 0x10ffff ? String.fromCodePoint(point) : whole;
  });
}

export function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Keys come URL-encoded when the server honoured `encoding-type=url` (it says so); otherwise as they are. */
export function keyDecoder(body: string): (key: string) => string {
  if (xmlText(body, "EncodingType") !== "url") return (key) => key;
  return (key) => decodeURIComponent(key.replace(/\+/g, "%20"));
}
