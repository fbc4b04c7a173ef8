// Just enough XML for WebDAV's PROPFIND request bodies (RFC 4918 §9.1): which properties the client asks for, with
// their namespaces resolved, and escaping for the multistatus answer. Bodies are small; anything that is not
// well-formed enough to read is an error the server answers with 400.

export type PropertyName = { ns: string; local: string };

export type PropfindRequest = { kind: "allprop" } | { kind: "propname" } | { kind: "prop"; names: PropertyName[] };

export class XmlError extends Error {}

const tagPattern = /<(\/?)([^\s/>!?]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/gy;
const attributePattern = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** Which properties a PROPFIND body asks for; an empty body means allprop (RFC 4918 §9.1). */
export function parsePropfind(body: string): PropfindRequest {
  if (body.trim() === "") return { kind: "allprop" };
  const scopes: Map<string, string>[] = [new Map()];
  const path: PropertyName[] = [];
  const names: PropertyName[] = [];
  let kind: PropfindRequest["kind"] | undefined;
  let position = 0;
  const text = body.replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, (match) => " ".repeat(match.length));
  while (position < text.length) {
    const next = text.indexOf("<", position);
    if (next < 0) break;
    tagPattern.lastIndex = next;
    const match = tagPattern.exec(text);
    if (!match) throw new XmlError(`the request body is not XML a WebDAV server can read (at character ${next})`);
    position = tagPattern.lastIndex;
    const [, closing, qname = "", attributes = "", selfClosing] = match;
    if (closing) {
      path.pop();
      scopes.pop();
      continue;
    }
    const scope = new Map(scopes.at(-1));
    for (const attribute of attributes.matchAll(attributePattern)) {
      const [, name = "", double, single] = attribute;
      const value = double ?? single ?? "";
      if (name === "xmlns") scope.set("", value);
      else if (name.startsWith("xmlns:")) scope.set(name.slice(6), value);
    }
    const colon = qname.indexOf(":");
    const prefix = colon < 0 ? "" : qname.slice(0, colon);
    const local = colon < 0 ? qname : qname.slice(colon + 1);
    const ns = scope.get(prefix);
    if (ns === undefined && prefix !== "") throw new XmlError(`the namespace prefix ${prefix} is not declared`);
    const element = { ns: ns ?? "", local };
    const parent = path.at(-1);
    if (path.length === 0 && !(element.ns === "DAV:" && element.local === "propfind")) {
      throw new XmlError("a PROPFIND body must be a DAV:propfind element");
    }
    if (parent?.ns === "DAV:" && parent.local === "propfind" && path.length === 1 && element.ns === "DAV:") {
      if (element.local === "allprop" || element.local === "propname" || element.local === "prop")
        kind ??= element.local;
    }
    if (parent?.ns === "DAV:" && parent.local === "prop" && path.length === 2) names.push(element);
    if (!selfClosing) {
      path.push(element);
      scopes.push(scope);
    }
  }
  if (kind === "prop") return { kind, names };
  return { kind: kind ?? "allprop" };
}

/** Text for an XML element: markup escaped, characters XML 1.0 cannot hold (most controls) as U+FFFD. */
export function escapeXml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters XML cannot carry
  const valid = text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd");
  return valid.replace(
    /[<>&"']/g,
    (char) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[char]};`,
  );
}
