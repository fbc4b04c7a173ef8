import { EngineError } from "../errors.ts";

// Include and exclude patterns with restic's semantics (restic/internal/filter): a pattern is split at "/" and matched
// component by component against a path's components, where "*", "?" and "[...]" match within one component and
// "**" matches any number of whole components. A pattern starting with "/" is anchored at the root; any other pattern
// may match starting at any component ("*.tmp" matches /a/b/c.tmp, "cache/*" matches /home/ann/cache/x). A pattern
// matches a path when it consumes all of the path's components, so an excluded directory takes its contents with it.

type CompiledPattern = { source: string; anchored: boolean; parts: (RegExp | "**")[] };

function componentRegExp(part: string, pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < part.length; i++) {
    const char = part[i] as string;
    if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (char === "\\") {
      const next = part[++i];
      if (next === undefined) throw invalid(pattern, "it ends with a lone backslash");
      source += escapeRegExp(next);
    } else if (char === "[") {
      const end = part.indexOf("]", i + 2);
      if (end < 0) throw invalid(pattern, "a [ has no closing ]");
      let set = part.slice(i + 1, end);
      if (set.startsWith("^") || set.startsWith("!")) set = `^${set.slice(1)}`;
      source += `[${set.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`, "s");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function invalid(pattern: string, why: string): EngineError {
  return new EngineError("INVALID_ARGUMENT", `the pattern ${JSON.stringify(pattern)} is not valid: ${why}`);
}

export function compilePattern(pattern: string): CompiledPattern {
  const trimmed = pattern.trim();
  if (!trimmed) throw invalid(pattern, "it is empty");
  const parts = trimmed
    .split("/")
    .filter((part) => part !== "")
    .map((part) => (part === "**" ? ("**" as const) : componentRegExp(part, pattern)));
  return { source: pattern, anchored: trimmed.startsWith("/"), parts };
}

function matchFrom(parts: CompiledPattern["parts"], p: number, components: string[], c: number): boolean {
  if (p === parts.length) return c === components.length;
  const part = parts[p];
  if (part === "**") {
    for (let skip = c; skip <= components.length; skip++) {
      if (matchFrom(parts, p + 1, components, skip)) return true;
    }
    return false;
  }
  const component = components[c];
  return component !== undefined && (part as RegExp).test(component) && matchFrom(parts, p + 1, components, c + 1);
}

/** A set of patterns; `matches` is true when any of them matches the path. */
export class PatternList {
  readonly #patterns: CompiledPattern[];

  constructor(patterns: readonly string[]) {
    this.#patterns = patterns.map(compilePattern);
  }

  get size(): number {
    return this.#patterns.length;
  }

  /** `path` is absolute with "/" separators. */
  matches(path: string): boolean {
    if (this.#patterns.length === 0) return false;
    const components = path.split("/").filter((part) => part !== "");
    return this.#patterns.some(({ anchored, parts }) => {
      if (anchored) return matchFrom(parts, 0, components, 0);
      for (let start = 0; start < components.length; start++) {
        if (matchFrom(parts, 0, components, start)) return true;
      }
      return false;
    });
  }
}
