"use client";

import { ChevronRight, File, Folder, FolderUp, Plus, X } from "lucide-react";
import { useMemo, useState } from "react";
import { useAgentBrowse } from "../../lib/agent-browse.ts";
import { previewGlobs } from "../../lib/job-wizard/glob-preview.ts";
import { Badge } from "../ui/badge.tsx";
import { Button } from "../ui/button.tsx";
import { Bytes } from "../ui/bytes.tsx";
import { ErrorState } from "../ui/error-state.tsx";
import { Field } from "../ui/field.tsx";
import { Input, Textarea } from "../ui/input.tsx";
import { Skeleton } from "../ui/skeleton.tsx";
import type { StepProps } from "./step-props.ts";

/** The agent's own disks, one folder at a time, through browse commands (the agent answers on its next poll). */
function DiskBrowser({
  agentId,
  path,
  onOpen,
  onAdd,
  chosen,
  children,
}: {
  agentId: string;
  path: string;
  onOpen: (path: string) => void;
  onAdd: (path: string) => void;
  chosen: string[];
  children: (entries: { path: string; type: "dir" | "file" | "symlink" | "other" }[]) => React.ReactNode;
}) {
  const listing = useAgentBrowse(agentId ? { kind: "local", agentId, path } : null);
  const data = listing.data;
  return (
    <div className="space-y-3 rounded-md border border-slate-200 p-3 dark:border-slate-800">
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <Button
          variant="ghost"
          size="sm"
          onClick={() => onOpen(data?.parent ?? "")}
          disabled={!data || data.parent === null}
          aria-label="Up one folder"
        >
          <FolderUp aria-hidden />
        </Button>
        <span className="font-mono break-all" data-testid="browse-path">
          {path || "Disks"}
        </span>
        {path && (
          <Button size="sm" variant="secondary" onClick={() => onAdd(path)} disabled={chosen.includes(path)}>
            <Plus aria-hidden /> Back up this folder
          </Button>
        )}
      </div>
      {listing.isPending && agentId && (
        <div aria-busy="true">
          <p className="mb-2 text-sm text-slate-600 dark:text-slate-400">Asking the agent…</p>
          <Skeleton lines={4} />
        </div>
      )}
      {listing.error && <ErrorState error={listing.error} onRetry={() => listing.refetch()} what="The folder" />}
      {data && (
        <>
          {path === "" && data.roots.length > 0 && (
            <ul className="space-y-1" aria-label="Disks">
              {data.roots.map((root) => (
                <li key={root.path}>
                  <button
                    type="button"
                    className="flex w-full items-center gap-2 rounded px-2 py-1 text-left text-sm hover:bg-slate-100 dark:hover:bg-slate-800"
                    onClick={() => onOpen(root.path)}
                  >
                    <Folder className="size-4 text-sky-700 dark:text-sky-400" aria-hidden /> {root.label}
                  </button>
                </li>
              ))}
            </ul>
          )}
          <ul className="max-h-72 space-y-0.5 overflow-y-auto" aria-label={`Contents of ${path || "the disks"}`}>
            {data.entries.map((entry) => (
              <li key={entry.path} className="flex items-center gap-2 text-sm">
                {entry.type === "dir" ? (
                  <button
                    type="button"
                    className="flex min-w-0 flex-1 items-center gap-2 rounded px-2 py-1 text-left hover:bg-slate-100 dark:hover:bg-slate-800"
                    onClick={() => onOpen(entry.path)}
                    aria-label={`Open ${entry.name}`}
                  >
                    <Folder className="size-4 shrink-0 text-sky-700 dark:text-sky-400" aria-hidden />
                    <span className="truncate">{entry.name}</span>
                    <ChevronRight className="ml-auto size-4 shrink-0 text-slate-500" aria-hidden />
                  </button>
                ) : (
                  <span className="flex min-w-0 flex-1 items-center gap-2 px-2 py-1">
                    <File className="size-4 shrink-0 text-slate-500" aria-hidden />
                    <span className="truncate">{entry.name}</span>
                    <span className="ml-auto shrink-0 text-slate-600 dark:text-slate-400">
                      <Bytes value={entry.size} />
                    </span>
                  </span>
                )}
              </li>
            ))}
            {data.entries.length === 0 && path !== "" && (
              <li className="px-2 py-1 text-sm text-slate-600 dark:text-slate-400">This folder is empty.</li>
            )}
          </ul>
          {data.nextCursor && (
            <p className="text-sm text-slate-600 dark:text-slate-400">
              Showing the first {data.entries.length} entries.
            </p>
          )}
          {children(data.entries)}
        </>
      )}
    </div>
  );
}

/** Step 2: the folders to back up (browsed on the agent, or typed), and include/exclude patterns with a preview. */
export function SourceStep({ draft, update, errors }: StepProps) {
  const [browsing, setBrowsing] = useState(draft.sourcePaths[0] ?? "");
  const [typed, setTyped] = useState("");
  const add = (path: string) => {
    const clean = path.trim();
    if (clean && !draft.sourcePaths.includes(clean)) {
      update((d) => {
        d.sourcePaths.push(clean);
      });
    }
  };
  // A typed folder is also shown in the browser below, so the pattern preview has something to work on.
  const addTyped = () => {
    add(typed);
    if (typed.trim()) setBrowsing(typed.trim());
    setTyped("");
  };
  const patternsHelp =
    draft.engine === "backup"
      ? "restic patterns, one per line: *.tmp, /home/*/cache, **/node_modules. An excluded folder takes its contents."
      : "rclone filter globs, one per line, relative to the folder: *.tmp, cache/**, /only-at-top.txt.";
  return (
    <div className="space-y-6">
      <fieldset className="space-y-3">
        <legend className="text-sm font-medium">Folders to {draft.engine === "backup" ? "back up" : "sync"}</legend>
        <ul className="space-y-1" aria-label="Chosen folders" id="sourcePaths-list">
          {draft.sourcePaths.map((path) => (
            <li key={path} className="flex items-center gap-2">
              <Badge tone="blue" className="font-mono">
                {path}
              </Badge>
              <Button
                variant="ghost"
                size="icon"
                aria-label={`Remove ${path}`}
                onClick={() =>
                  update((d) => {
                    d.sourcePaths = d.sourcePaths.filter((p) => p !== path);
                  })
                }
              >
                <X aria-hidden />
              </Button>
            </li>
          ))}
          {draft.sourcePaths.length === 0 && (
            <li className="text-sm text-slate-600 dark:text-slate-400">
              None yet: browse the agent below or type a path.
            </li>
          )}
        </ul>
        <div className="flex items-end gap-2">
          <Field label="Type a path" error={errors.sourcePaths} className="flex-1">
            <Input
              name="sourcePaths"
              value={typed}
              onChange={(event) => setTyped(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === "Enter") {
                  event.preventDefault();
                  addTyped();
                }
              }}
              placeholder="/home/ann/Documents or C:\Users\Ann\Documents"
            />
          </Field>
          <Button variant="secondary" onClick={addTyped} disabled={!typed.trim()}>
            Add
          </Button>
        </div>
      </fieldset>

      <section aria-labelledby="browse-heading" className="space-y-2">
        <h3 id="browse-heading" className="text-sm font-medium">
          Browse the agent's disks
        </h3>
        {draft.agentId ? (
          <DiskBrowser
            agentId={draft.agentId}
            path={browsing}
            onOpen={setBrowsing}
            onAdd={add}
            chosen={draft.sourcePaths}
          >
            {(entries) => <GlobPreviewList draft={draft} entries={entries} />}
          </DiskBrowser>
        ) : (
          <p className="text-sm text-slate-600 dark:text-slate-400">Choose an agent on the first step to browse it.</p>
        )}
      </section>

      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Include only" error={errors.includeGlob} description={`${patternsHelp} Empty: everything.`}>
          <Textarea
            name="includeGlob"
            value={draft.includeGlob}
            onChange={(event) =>
              update((d) => {
                d.includeGlob = event.target.value;
              })
            }
            className="font-mono"
          />
        </Field>
        <Field label="Exclude" error={errors.excludeGlob} description={patternsHelp}>
          <Textarea
            name="excludeGlob"
            value={draft.excludeGlob}
            onChange={(event) =>
              update((d) => {
                d.excludeGlob = event.target.value;
              })
            }
            className="font-mono"
            placeholder={"*.tmp\n**/node_modules"}
          />
        </Field>
      </div>
    </div>
  );
}

function GlobPreviewList({
  draft,
  entries,
}: {
  draft: StepProps["draft"];
  entries: { path: string; type: "dir" | "file" | "symlink" | "other" }[];
}) {
  const preview = useMemo(
    () =>
      previewGlobs(draft.engine, entries, {
        includeGlob: draft.includeGlob,
        excludeGlob: draft.excludeGlob,
        sourcePaths: draft.sourcePaths,
      }),
    [draft.engine, draft.includeGlob, draft.excludeGlob, draft.sourcePaths, entries],
  );
  if (!draft.includeGlob.trim() && !draft.excludeGlob.trim()) return null;
  if (preview.error) {
    return (
      <p role="alert" className="text-sm text-red-700 dark:text-red-400">
        {preview.error}
      </p>
    );
  }
  const left = preview.verdicts.filter((verdict) => !verdict.included);
  return (
    <div aria-live="polite" className="space-y-1 border-t border-slate-200 pt-2 text-sm dark:border-slate-800">
      <p data-testid="glob-preview-summary">
        In this folder the patterns keep {preview.verdicts.length - left.length} of {preview.verdicts.length} entries.
      </p>
      {left.length > 0 && (
        <ul className="space-y-0.5" aria-label="Left out by the patterns">
          {left.slice(0, 20).map((verdict) => (
            <li key={verdict.path} className="text-slate-700 dark:text-slate-300">
              <span className="font-mono line-through">{verdict.path.split(/[\\/]/).at(-1)}</span> — {verdict.why}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
