"use client";

import type { BrowseEntry } from "@e3/api/agent-contract";
import { clsx } from "clsx";
import { Check, ChevronDown, ChevronRight, File, Folder, Minus } from "lucide-react";
import { type KeyboardEvent, useRef, useState } from "react";
import { useAgentBrowse } from "../../lib/agent-browse.ts";
import { formatAbsolute, formatBytes } from "../../lib/format.ts";
import { Button } from "../ui/button.tsx";
import { Skeleton } from "../ui/skeleton.tsx";

// A snapshot as an ARIA tree (WAI-ARIA tree view pattern): folders load when opened (one browse command each),
// arrow keys move and open/close, Space checks, Home/End jump. The check state lives on the treeitem itself
// (aria-checked), not on a nested checkbox, so the tree stays one interactive widget.

export type TreeSelection = {
  /** Selected paths: a folder stands for everything below it. */
  paths: Set<string>;
  /** Sizes of the files seen so far, for the running total. */
  sizes: Map<string, number>;
};

const isBelow = (path: string, folder: string) => folder === "/" || path.startsWith(`${folder}/`);

function checkState(path: string, selected: Set<string>): boolean | "mixed" {
  for (const chosen of selected) {
    if (chosen === path || isBelow(path, chosen)) return true;
  }
  for (const chosen of selected) if (isBelow(chosen, path)) return "mixed";
  return false;
}

type TreeContext = {
  jobId: string;
  snapshotId: string;
  agentId?: string;
  selected: Set<string>;
  toggle: (entry: BrowseEntry) => void;
  expanded: Set<string>;
  setExpanded: (path: string, open: boolean) => void;
  focused: string | null;
  setFocused: (path: string) => void;
  remember: (entries: BrowseEntry[]) => void;
};

function Folder_({ path, level, context }: { path: string; level: number; context: TreeContext }) {
  const listing = useAgentBrowse({
    kind: "snapshot",
    jobId: context.jobId,
    snapshotId: context.snapshotId,
    path,
    ...(context.agentId ? { agentId: context.agentId } : {}),
  });
  if (listing.data) context.remember(listing.data.entries);
  if (listing.isPending) {
    return (
      <div role="none" className="py-1" style={{ paddingLeft: `${level * 1.25}rem` }}>
        <span className="sr-only">Loading {path}</span>
        <Skeleton className="h-4 w-48" />
      </div>
    );
  }
  if (listing.error) {
    return (
      <div
        role="none"
        className="py-1 text-sm text-red-700 dark:text-red-400"
        style={{ paddingLeft: `${level * 1.25}rem` }}
      >
        {listing.error.message}{" "}
        <Button size="sm" variant="ghost" onClick={() => listing.refetch()}>
          Retry
        </Button>
      </div>
    );
  }
  const entries = listing.data?.entries ?? [];
  if (entries.length === 0) {
    return (
      <div
        role="none"
        className="py-1 text-sm text-slate-600 dark:text-slate-400"
        style={{ paddingLeft: `${level * 1.25}rem` }}
      >
        (empty folder)
      </div>
    );
  }
  return (
    <>
      {entries.map((entry, index) => (
        <Item
          key={entry.path}
          entry={entry}
          level={level}
          position={index + 1}
          size={entries.length}
          context={context}
        />
      ))}
      {listing.data?.nextCursor && (
        <div
          role="none"
          className="py-1 text-sm text-slate-600 dark:text-slate-400"
          style={{ paddingLeft: `${level * 1.25}rem` }}
        >
          Only the first {entries.length} entries are shown.
        </div>
      )}
    </>
  );
}

function Item({
  entry,
  level,
  position,
  size,
  context,
}: {
  entry: BrowseEntry;
  level: number;
  position: number;
  size: number;
  context: TreeContext;
}) {
  const folder = entry.type === "dir";
  const open = folder && context.expanded.has(entry.path);
  const checked = checkState(entry.path, context.selected);
  const focusable = context.focused === entry.path || (context.focused === null && level === 1 && position === 1);
  return (
    <div
      role="treeitem"
      aria-level={level}
      aria-setsize={size}
      aria-posinset={position}
      aria-expanded={folder ? open : undefined}
      aria-checked={checked}
      data-path={entry.path}
      data-type={entry.type}
      tabIndex={focusable ? 0 : -1}
      onFocus={(event) => {
        if (event.target === event.currentTarget) context.setFocused(entry.path);
      }}
      className="outline-none [&:focus-visible>div]:ring-2 [&:focus-visible>div]:ring-sky-600"
    >
      <div
        className="flex items-center gap-2 rounded px-1 py-0.5 text-sm hover:bg-slate-100 dark:hover:bg-slate-800"
        style={{ paddingLeft: `${(level - 1) * 1.25 + 0.25}rem` }}
      >
        <span
          aria-hidden
          className="inline-flex size-5 shrink-0 cursor-pointer items-center justify-center"
          onClick={() => folder && context.setExpanded(entry.path, !open)}
        >
          {folder ? open ? <ChevronDown className="size-4" /> : <ChevronRight className="size-4" /> : null}
        </span>
        <span
          aria-hidden
          onClick={() => context.toggle(entry)}
          className={clsx(
            "inline-flex size-4 shrink-0 cursor-pointer items-center justify-center rounded border",
            checked ? "border-sky-700 bg-sky-700 text-white dark:bg-sky-600" : "border-slate-400 dark:border-slate-500",
          )}
        >
          {checked === true && <Check className="size-3" />}
          {checked === "mixed" && <Minus className="size-3" />}
        </span>
        {folder ? (
          <Folder className="size-4 shrink-0 text-sky-700 dark:text-sky-400" aria-hidden />
        ) : (
          <File className="size-4 shrink-0 text-slate-500" aria-hidden />
        )}
        {/* biome-ignore lint/a11y/noStaticElementInteractions lint/a11y/useKeyWithClickEvents: a mouse shortcut; the tree item handles the keys */}
        <span
          className="min-w-0 flex-1 cursor-pointer truncate"
          onClick={() => (folder ? context.setExpanded(entry.path, !open) : context.toggle(entry))}
        >
          {entry.name}
        </span>
        <span className="hidden w-24 shrink-0 text-right text-slate-600 sm:inline dark:text-slate-400">
          {folder ? "" : formatBytes(entry.size)}
        </span>
        <span className="hidden w-48 shrink-0 text-right text-slate-600 md:inline dark:text-slate-400">
          {entry.mtime ? formatAbsolute(entry.mtime) : ""}
        </span>
      </div>
      {open && (
        // biome-ignore lint/a11y/useSemanticElements: the WAI-ARIA tree pattern's group, not a form fieldset
        <div role="group">
          <Folder_ path={entry.path} level={level + 1} context={context} />
        </div>
      )}
    </div>
  );
}

/** Moves the focus between the visible tree items as the WAI-ARIA tree pattern describes. */
function onTreeKeyDown(event: KeyboardEvent<HTMLDivElement>, context: TreeContext, entries: Map<string, BrowseEntry>) {
  const items = [...event.currentTarget.querySelectorAll<HTMLElement>('[role="treeitem"]')];
  const current = (event.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
  if (!current) return;
  const index = items.indexOf(current);
  const path = current.dataset.path ?? "";
  const folder = current.dataset.type === "dir";
  const open = current.getAttribute("aria-expanded") === "true";
  const focus = (element: HTMLElement | undefined) => {
    if (!element) return;
    context.setFocused(element.dataset.path ?? "");
    element.focus();
  };
  switch (event.key) {
    case "ArrowDown":
      focus(items[index + 1]);
      break;
    case "ArrowUp":
      focus(items[index - 1]);
      break;
    case "Home":
      focus(items[0]);
      break;
    case "End":
      focus(items.at(-1));
      break;
    case "ArrowRight":
      if (folder && !open) context.setExpanded(path, true);
      else if (folder && open) focus(items[index + 1]);
      break;
    case "ArrowLeft":
      if (folder && open) context.setExpanded(path, false);
      else focus(current.parentElement?.closest<HTMLElement>('[role="treeitem"]') ?? undefined);
      break;
    case " ":
    case "Enter": {
      const entry = entries.get(path);
      if (event.key === "Enter" && folder) context.setExpanded(path, !open);
      else if (entry) context.toggle(entry);
      break;
    }
    default:
      return;
  }
  event.preventDefault();
}

/** The tree with breadcrumbs above it; `root` is the folder shown (the breadcrumbs change it). */
export function SnapshotTree({
  jobId,
  snapshotId,
  agentId,
  selection,
  onSelectionChange,
  root,
  onRootChange,
}: {
  jobId: string;
  snapshotId: string;
  agentId?: string;
  selection: TreeSelection;
  onSelectionChange: (selection: TreeSelection) => void;
  root: string;
  onRootChange: (root: string) => void;
}) {
  const [expanded, setExpandedState] = useState<Set<string>>(new Set());
  const [focused, setFocused] = useState<string | null>(null);
  const entries = useRef(new Map<string, BrowseEntry>());
  const context: TreeContext = {
    jobId,
    snapshotId,
    ...(agentId ? { agentId } : {}),
    selected: selection.paths,
    expanded,
    focused,
    setFocused,
    setExpanded: (path, open) => {
      setExpandedState((current) => {
        const next = new Set(current);
        if (open) next.add(path);
        else next.delete(path);
        return next;
      });
    },
    remember: (list) => {
      for (const entry of list) {
        entries.current.set(entry.path, entry);
        if (entry.type !== "dir" && !selection.sizes.has(entry.path)) selection.sizes.set(entry.path, entry.size);
      }
    },
    toggle: (entry) => {
      const paths = new Set(selection.paths);
      const state = checkState(entry.path, paths);
      if (paths.has(entry.path)) paths.delete(entry.path);
      else if (state === true)
        return; // chosen through a folder above it: uncheck that folder instead
      else {
        // Checking a folder makes its own choices below it redundant.
        for (const chosen of [...paths]) if (isBelow(chosen, entry.path)) paths.delete(chosen);
        paths.add(entry.path);
      }
      onSelectionChange({ paths, sizes: selection.sizes });
    },
  };
  // The breadcrumbs follow the focused item's folder; choosing one shows that folder alone.
  const location = focused && isBelow(focused, root) ? focused.slice(0, focused.lastIndexOf("/")) || "/" : root;
  const crumbs = location === "/" ? [] : location.split("/").filter(Boolean);
  return (
    <div className="space-y-2">
      <nav aria-label="Folder path">
        <ol className="flex flex-wrap items-center gap-1 text-sm">
          <li>
            <button
              type="button"
              className="rounded px-1 font-mono underline-offset-2 hover:underline"
              onClick={() => onRootChange("/")}
            >
              /
            </button>
          </li>
          {crumbs.map((name, index) => {
            const path = `/${crumbs.slice(0, index + 1).join("/")}`;
            return (
              <li key={path} className="flex items-center gap-1">
                <ChevronRight className="size-3 text-slate-500" aria-hidden />
                <button
                  type="button"
                  className="rounded px-1 font-mono underline-offset-2 hover:underline"
                  aria-current={index === crumbs.length - 1 ? "location" : undefined}
                  onClick={() => onRootChange(path)}
                >
                  {name}
                </button>
              </li>
            );
          })}
        </ol>
      </nav>
      <div className="hidden items-center gap-2 border-b border-slate-200 px-1 pb-1 text-xs font-medium text-slate-600 sm:flex dark:border-slate-800 dark:text-slate-400">
        <span className="flex-1 pl-12">Name</span>
        <span className="w-24 text-right">Size</span>
        <span className="hidden w-48 text-right md:inline">Modified</span>
      </div>
      <div
        role="tree"
        aria-label={`Snapshot ${snapshotId.slice(0, 8)}: ${root}`}
        aria-multiselectable="true"
        className="max-h-[28rem] overflow-y-auto"
        onKeyDown={(event) => onTreeKeyDown(event, context, entries.current)}
      >
        <Folder_ path={root} level={1} context={context} />
      </div>
      <p className="text-xs text-slate-600 dark:text-slate-400">
        Arrow keys move, Right opens a folder, Left closes it, Space checks an item for restoring; a breadcrumb shows
        that folder alone.
      </p>
    </div>
  );
}

/** "2 files, 1 folder; 3.4 MiB in the files" for the selection. */
export function selectionSummary(selection: TreeSelection): string {
  let files = 0;
  let folders = 0;
  let bytes = 0;
  for (const path of selection.paths) {
    const size = selection.sizes.get(path);
    if (size !== undefined) {
      files += 1;
      bytes += size;
    } else folders += 1;
  }
  if (files + folders === 0) return "Nothing selected";
  const parts = [
    files ? `${files} file${files === 1 ? "" : "s"}` : null,
    folders ? `${folders} folder${folders === 1 ? "" : "s"} (with everything in them)` : null,
  ].filter(Boolean);
  return `${parts.join(", ")} selected${files ? `; ${formatBytes(bytes)} in the files` : ""}`;
}
