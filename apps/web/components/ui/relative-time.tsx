"use client";

import { useEffect, useState } from "react";
import { formatAbsolute, formatRelative, localTimeZone } from "../../lib/format.ts";
import { Tooltip } from "./tooltip.tsx";

function useNow(intervalMs: number): Date | null {
  const [now, setNow] = useState<Date | null>(null);
  useEffect(() => {
    setNow(new Date());
    const timer = setInterval(() => setNow(new Date()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/**
 * "3 hours ago", with the absolute local time and the time zone in a tooltip. Renders the absolute time on the
 * server and replaces it after hydration, so server and browser never disagree; refreshes every 30 s.
 */
export function RelativeTime({
  date,
  fallback = "never",
}: {
  date: Date | string | null | undefined;
  fallback?: string;
}) {
  const now = useNow(30_000);
  if (!date) return <span className="text-slate-600 dark:text-slate-400">{fallback}</span>;
  const value = new Date(date);
  const iso = value.toISOString();
  const absolute = now ? `${formatAbsolute(value)} (${localTimeZone()})` : iso;
  return (
    <Tooltip content={absolute}>
      <button type="button" className="cursor-help whitespace-nowrap">
        <time dateTime={iso}>{now ? formatRelative(value, now) : iso.slice(0, 16).replace("T", " ")}</time>
      </button>
    </Tooltip>
  );
}

/** The absolute time, with zone, for places that need it spelled out (schedules, detail pages). */
export function AbsoluteTime({ date }: { date: Date | string }) {
  const now = useNow(3_600_000);
  const value = new Date(date);
  return (
    <time dateTime={value.toISOString()} className="whitespace-nowrap">
      {now ? formatAbsolute(value) : value.toISOString()}
    </time>
  );
}
