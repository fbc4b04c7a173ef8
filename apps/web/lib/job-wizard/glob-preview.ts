import { splitGlobs } from "@e3/api/job-schemas";
import { PatternList } from "@e3/engine/patterns";
import { RcloneFilter } from "@e3/engine/rclone-filter";

// The source step's live preview: which of the entries the user has browsed the job would take, decided by the very
// matchers the agent runs (restic's patterns for backups, rclone's filter rules for sync), so the preview cannot
// disagree with the run.

export type PreviewEntry = { path: string; type: "dir" | "file" | "symlink" | "other" };
export type PreviewVerdict = { path: string; type: PreviewEntry["type"]; included: boolean; why: string };

export type GlobPreview = { verdicts: PreviewVerdict[]; error: string | null };

/** Agent paths use "/" on Unix and "\\" on Windows; the matchers want "/" (restic and rclone do the same). */
function slashed(path: string): string {
  const forward = path.replace(/\\/g, "/");
  return /^[A-Za-z]:\//.test(forward) ? `/${forward}` : forward;
}

function sourceRootOf(path: string, sources: string[]): string | null {
  const target = slashed(path);
  let best: string | null = null;
  for (const source of sources) {
    const root = slashed(source).replace(/\/+$/, "");
    if ((target === root || target.startsWith(`${root}/`)) && (!best || root.length > best.length)) best = root;
  }
  return best;
}

export function previewGlobs(
  engine: "backup" | "sync",
  entries: PreviewEntry[],
  options: { includeGlob: string; excludeGlob: string; sourcePaths: string[] },
): GlobPreview {
  const includes = splitGlobs(options.includeGlob);
  const excludes = splitGlobs(options.excludeGlob);
  try {
    if (engine === "backup") {
      const include = new PatternList(includes);
      const exclude = new PatternList(excludes);
      // The archiver does not descend into an excluded folder, so everything below it is left out too.
      const excludedAt = (path: string) => {
        const parts = path.split("/");
        for (let end = parts.length; end > 1; end--) {
          const prefix = parts.slice(0, end).join("/");
          if (exclude.matches(prefix)) return prefix;
        }
        return null;
      };
      return {
        error: null,
        verdicts: entries.map((entry) => {
          const path = slashed(entry.path);
          const excluded = excludedAt(path);
          if (excluded === path) return { ...entry, included: false, why: "matches an exclude pattern" };
          if (excluded) return { ...entry, included: false, why: `inside ${excluded}, which is excluded` };
          if (include.size > 0 && entry.type !== "dir" && !include.matches(path)) {
            return { ...entry, included: false, why: "matches no include pattern" };
          }
          return {
            ...entry,
            included: true,
            why: include.size > 0 && entry.type !== "dir" ? "matches an include pattern" : "included",
          };
        }),
      };
    }
    // rclone matches paths relative to the sync root, without a leading slash.
    const filter = new RcloneFilter({ include: includes, exclude: excludes });
    return {
      error: null,
      verdicts: entries.map((entry) => {
        const root = sourceRootOf(entry.path, options.sourcePaths);
        const relative =
          root === null ? slashed(entry.path).replace(/^\/+/, "") : slashed(entry.path).slice(root.length + 1);
        const included =
          entry.type === "dir" ? filter.includesFolder(relative) : relative === "" || filter.includesFile(relative);
        return { ...entry, included, why: included ? "included" : "filtered out by the rules" };
      }),
    };
  } catch (error) {
    return { verdicts: [], error: (error as Error).message };
  }
}
