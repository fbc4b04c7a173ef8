import { clsx } from "clsx";
import type { ReactNode } from "react";

/** One label/value pair of a DetailList. */
export type Detail = { label: string; value: ReactNode };

/**
 * Label/value pairs as a description list (`<dl>`), label column beside the value from the small breakpoint on.
 * Takes either `items` (an ordered list) or `rows` (an object: its keys in order are the labels).
 */
export function DetailList({
  items,
  rows,
  className,
  ...rest
}: { items?: readonly Detail[]; rows?: Record<string, ReactNode>; className?: string } & Record<
  `data-${string}`,
  string
>) {
  const entries = items ?? Object.entries(rows ?? {}).map(([label, value]) => ({ label, value }));
  return (
    <dl className={clsx("grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[12rem_1fr]", className)} {...rest}>
      {entries.map((entry) => (
        <div key={entry.label} className="contents">
          <dt className="text-slate-600 dark:text-slate-400">{entry.label}</dt>
          <dd className="min-w-0 break-words">{entry.value}</dd>
        </div>
      ))}
    </dl>
  );
}
