"use client";

import { useQueryClient } from "@tanstack/react-query";
import { clsx } from "clsx";
import { Download, Search } from "lucide-react";
import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { downloadText } from "../../lib/download.ts";
import { useTRPC } from "../../lib/trpc-client.tsx";
import { Button } from "../ui/button.tsx";
import { Checkbox } from "../ui/checkbox.tsx";
import { CopyButton } from "../ui/copy-button.tsx";
import { Input } from "../ui/input.tsx";

type Level = "debug" | "info" | "warn" | "error";
type Line = { seq: number; ts: Date; level: string; message: string };

const levels: Level[] = ["debug", "info", "warn", "error"];
const levelClass: Record<string, string> = {
  debug: "text-slate-400",
  info: "text-slate-200",
  warn: "text-amber-300",
  error: "text-red-300",
};
/** The view keeps this many lines; "Download" fetches the whole log page by page. */
const keepLines = 5000;

export function formatLogLine(line: Line): string {
  return `${new Date(line.ts).toISOString()} ${line.level.toUpperCase().padEnd(5)} ${line.message}`;
}

/**
 * A run's log, tailing while the run is live (new lines fetched after the last sequence number), with a level filter,
 * a search (Enter applies it, done by the server), follow-scroll, copy of what is shown and download of everything.
 */
export function RunLog({ runId, live }: { runId: string; live: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [selected, setSelected] = useState<Level[]>(["info", "warn", "error"]);
  const [search, setSearch] = useState("");
  const [lines, setLines] = useState<Line[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [follow, setFollow] = useState(true);
  const [downloading, setDownloading] = useState(false);
  const lastSeq = useRef<number | null>(null);
  const box = useRef<HTMLDivElement>(null);

  const fetchPage = useCallback(
    (afterSeq: number | null, limit = 500) =>
      queryClient.fetchQuery({
        ...trpc.runs.logs.queryOptions({
          runId,
          afterSeq,
          levels: selected,
          ...(search ? { search } : {}),
          limit,
        }),
        staleTime: 0,
      }),
    [queryClient, trpc, runId, selected, search],
  );

  // (Re)load from the start whenever the filter changes, then tail while the run is live.
  // fetchPage changes with the filter, which restarts this.
  useEffect(() => {
    let cancelled = false;
    lastSeq.current = null;
    setLines([]);
    setLoading(true);
    async function pull() {
      try {
        // Drain what is there (pages of 500), then wait for more.
        for (let page = 0; page < 20; page++) {
          const result = await fetchPage(lastSeq.current);
          if (cancelled) return;
          if (result.lines.length > 0) {
            lastSeq.current = result.lastSeq;
            setLines((previous) => [...previous, ...result.lines].slice(-keepLines));
          }
          if (result.lines.length < 500) break;
        }
        setError(null);
      } catch (failure) {
        if (!cancelled) setError((failure as Error).message);
      } finally {
        if (!cancelled) setLoading(false);
      }
    }
    void pull();
    const timer = live ? setInterval(pull, 2000) : undefined;
    return () => {
      cancelled = true;
      if (timer) clearInterval(timer);
    };
  }, [live, fetchPage]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: new lines are what moves the view to the bottom
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  function applySearch(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSearch(String(new FormData(event.currentTarget).get("search") ?? "").trim());
  }

  async function download() {
    setDownloading(true);
    try {
      const all: Line[] = [];
      let after: number | null = null;
      for (;;) {
        const page: { lines: Line[]; lastSeq: number | null } = await queryClient.fetchQuery({
          ...trpc.runs.logs.queryOptions({ runId, afterSeq: after, limit: 1000 }),
          staleTime: 0,
        });
        all.push(...page.lines);
        if (page.lines.length < 1000) break;
        after = page.lastSeq;
      }
      downloadText(`run-${runId}.log`, `${all.map(formatLogLine).join("\n")}\n`);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setDownloading(false);
    }
  }

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
        <fieldset className="flex flex-wrap items-center gap-3">
          <legend className="sr-only">Levels</legend>
          {levels.map((level) => (
            <Checkbox
              key={level}
              label={level}
              checked={selected.includes(level)}
              onCheckedChange={(checked) =>
                setSelected((previous) =>
                  checked
                    ? levels.filter((l) => l === level || previous.includes(l))
                    : previous.filter((l) => l !== level),
                )
              }
            />
          ))}
        </fieldset>
        <form onSubmit={applySearch} className="flex min-w-48 flex-1 items-center gap-2">
          <Input name="search" type="search" placeholder="Search the log" aria-label="Search the log" className="h-8" />
          <Button type="submit" variant="secondary" size="sm">
            <Search aria-hidden /> Search
          </Button>
        </form>
        <div className="flex items-center gap-2">
          <Checkbox label="Follow" checked={follow} onCheckedChange={(checked) => setFollow(checked === true)} />
          <CopyButton text={lines.map(formatLogLine).join("\n")} label="Copy" />
          <Button variant="secondary" size="sm" onClick={download} pending={downloading}>
            <Download aria-hidden /> Download
          </Button>
        </div>
      </div>
      {error && (
        <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
          The log could not load: {error}
        </p>
      )}
      <div
        ref={box}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls, so keyboard users must be able to reach it
        tabIndex={0}
        role="log"
        aria-label="Run log"
        aria-live={live ? "polite" : "off"}
        data-testid="run-log"
        className="h-96 overflow-auto rounded-md bg-slate-950 p-3 font-mono text-xs leading-relaxed text-slate-200"
      >
        {loading && lines.length === 0 ? (
          <p className="text-slate-400">Loading…</p>
        ) : lines.length === 0 ? (
          <p className="text-slate-400">{search || selected.length < 4 ? "No lines match." : "No log lines yet."}</p>
        ) : (
          lines.map((line) => (
            <div key={line.seq} className={clsx("break-all whitespace-pre-wrap", levelClass[line.level])}>
              <span className="text-slate-400">{new Date(line.ts).toISOString().slice(11, 23)}</span>{" "}
              <span className="uppercase">{line.level.padEnd(5)}</span> {line.message}
            </div>
          ))
        )}
      </div>
    </div>
  );
}
