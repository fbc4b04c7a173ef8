import { EngineError } from "../errors.ts";

// rclone's filter rules (engine-reference §5.4, rclone docs/content/filtering.md) so `--include`/`--exclude` mean
// for e3 what they mean for rclone: the same glob dialect, the same rule order, first match wins, any include
// implies a final exclude-all, and directory rules that prune whole folders. Paths are relative to the sync root
// with forward slashes and no leading slash. Pure: no file system here.

export type FilterOptions = {
  /** `--include` globs (matched first, in order). */
  include?: readonly string[];
  /** `--exclude` globs (after the includes). */
  exclude?: readonly string[];
  /** `--filter` rules: `+ glob`, `- glob`, or `!` to clear the rules so far (after includes and excludes). */
  filter?: readonly string[];
  ignoreCase?: boolean;
};

type Rule = { include: boolean; pattern: RegExp; glob: string };

// Go's RE2 has POSIX classes inside brackets; JavaScript does not, so they are spelled out.
const posixClasses: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-/:-@[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

function invalid(glob: string, why: string): EngineError {
  return new EngineError(
    "INVALID_ARGUMENT",
    `the filter ${JSON.stringify(glob)} is not a valid rclone glob: ${why}; see https://rclone.org/filtering/`,
  );
}

/**
 * An rclone glob as a regular expression: `*` one path element's worth (`[^/]*`), `**` anything (`.*`), `?` one
 * character but `/`, `[…]` classes, `{a,b}` alternatives, `\` escapes. A leading `/` anchors at the root;
 * otherwise the glob matches a tail of the path starting at an element boundary (`file.jpg` matches
 * `dir/file.jpg`, not `afile.jpg`).
 */
export function globToRegExp(glob: string, ignoreCase = false): RegExp {
  let source = glob.startsWith("/") ? "^" : "(?:^|/)";
  const chars = [...(glob.startsWith("/") ? glob.slice(1) : glob)];
  let stars = 0;
  let bracketDepth = 0;
  let inBraces = false;
  const flushStars = () => {
    if (stars === 1) source += "[^/]*";
    else if (stars === 2) source += ".*";
    else if (stars > 2) throw invalid(glob, "more than two * in a row");
    stars = 0;
  };
  for (let index = 0; index < chars.length; index++) {
    const char = chars[index]!;
    if (char !== "*") flushStars();
    if (bracketDepth > 0) {
      if (char === "[" && chars[index + 1] === ":") {
        const end = chars.indexOf(":", index + 2);
        const name = end > 0 && chars[end + 1] === "]" ? chars.slice(index + 2, end).join("") : "";
        const negated = name.startsWith("^");
        const expansion = posixClasses[negated ? name.slice(1) : name];
        if (expansion === undefined || negated) throw invalid(glob, `unknown character class [:${name}:]`);
        source += expansion;
        index = end + 1;
        continue;
      }
      if (char === "\\") {
        source += `\\${chars[++index] ?? ""}`;
        continue;
      }
      if (char === "]") bracketDepth--;
      else if (char === "[") source += "\\";
      source += char;
      continue;
    }
    switch (char) {
      case "\\": {
        const next = chars[++index];
        if (next === undefined) throw invalid(glob, "it ends in a lone \\");
        source += escapeLiteral(next);
        break;
      }
      case "*":
        stars++;
        break;
      case "?":
        source += "[^/]";
        break;
      case "[":
        bracketDepth++;
        source += "[";
        break;
      case "]":
        throw invalid(glob, "a ] without its [");
      case "{":
        if (inBraces) throw invalid(glob, "{ } cannot nest");
        inBraces = true;
        source += "(?:";
        break;
      case "}":
        if (!inBraces) throw invalid(glob, "a } without its {");
        inBraces = false;
        source += ")";
        break;
      case ",":
        source += inBraces ? "|" : ",";
        break;
      default:
        source += escapeLiteral(char);
    }
  }
  flushStars();
  if (bracketDepth > 0) throw invalid(glob, "a [ without its ]");
  if (inBraces) throw invalid(glob, "a { without its }");
  try {
    return new RegExp(`${source}$`, ignoreCase ? "iu" : "u");
  } catch (error) {
    throw invalid(glob, (error as Error).message);
  }
}

function escapeLiteral(char: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(char) ? `\\${char}` : char;
}

/**
 * The folders a file glob can live in, as folder globs (rclone derives these so an include like `/a/b/*.jpg`
 * only descends into `a/` and `a/b/`): cut the glob at its last `/` or `**`, again and again. A glob with no
 * folder part (`*.jpg`) or one too hard to reason about (`/` or `**` inside `{}`) may live anywhere: `/**`.
 */
export function folderGlobsOf(glob: string): string[] {
  if (/\{[^{}]*(\*\*|\/)[^{}]*\}/.test(glob)) return ["/**"];
  let rest = glob.replace(/\/{2,}/g, "/");
  const out: string[] = [];
  for (;;) {
    let cut = rest.lastIndexOf("/");
    const doubleStar = rest.lastIndexOf("**");
    let keep = "";
    if (doubleStar > cut) {
      cut = doubleStar;
      keep = "**";
    }
    if (cut < 0) {
      if (out.length === 0) out.push("/**");
      return out;
    }
    rest = rest.slice(0, cut);
    const folderGlob = `${rest}${keep}/`;
    if (out.at(-1) !== folderGlob) out.push(folderGlob);
  }
}

/** A compiled rule list; `includesFile` and `includesFolder` answer as rclone's filter does. */
export class RcloneFilter {
  readonly #fileRules: Rule[] = [];
  readonly #folderRules: Rule[] = [];
  readonly #ignoreCase: boolean;

  constructor(options: FilterOptions = {}) {
    this.#ignoreCase = options.ignoreCase ?? false;
    for (const glob of options.include ?? []) this.#add(true, glob);
    for (const glob of options.exclude ?? []) this.#add(false, glob);
    for (const rule of options.filter ?? []) this.#addRule(rule);
    if ((options.include ?? []).length > 0) this.#add(false, "/**");
  }

  /** True when no rule is set, so callers can skip matching. */
  get empty(): boolean {
    return this.#fileRules.length === 0 && this.#folderRules.length === 0;
  }

  /** A file path (`a/b/c.txt`). No rule matching: included. */
  includesFile(path: string): boolean {
    return firstMatch(this.#fileRules, path);
  }

  /** A folder path without a trailing slash (`a/b`); the root ("") is always included. */
  includesFolder(path: string): boolean {
    return path === "" || firstMatch(this.#folderRules, `${path}/`);
  }

  #addRule(rule: string): void {
    const trimmed = rule.trim();
    if (trimmed === "!") {
      this.#fileRules.length = 0;
      this.#folderRules.length = 0;
      return;
    }
    const match = /^([+-]) (.*)$/.exec(trimmed);
    if (!match) throw invalid(rule, 'a filter rule starts with "+ " or "- " (or is "!")');
    this.#add(match[1] === "+", match[2]!);
  }

  #add(include: boolean, givenGlob: string): void {
    let glob = givenGlob;
    let folderRule = glob.endsWith("/");
    let fileRule = !folderRule;
    // Excluding "dir/" excludes everything below it too.
    if (folderRule && !include) glob += "**";
    if (glob.includes("**")) {
      folderRule = true;
      fileRule = true;
    }
    const pattern = globToRegExp(glob, this.#ignoreCase);
    if (fileRule) {
      this.#fileRules.push({ include, pattern, glob });
      // An include has to reach its files, so its folders are included; an exclude rules no folder out (but `*`).
      if (include || glob === "*") {
        for (const folderGlob of folderGlobsOf(glob)) {
          if (folderGlob === "/") continue;
          this.#folderRules.push({ include, pattern: globToRegExp(folderGlob, this.#ignoreCase), glob: folderGlob });
        }
      }
    }
    if (folderRule) this.#folderRules.push({ include, pattern, glob });
  }
}

function firstMatch(rules: readonly Rule[], path: string): boolean {
  for (const rule of rules) if (rule.pattern.test(path)) return rule.include;
  return true;
}
