import { clsx } from "clsx";

/**
 * A grey placeholder of the size the content will have, so nothing moves when data arrives. Give it the final
 * height (className "h-6 w-32"); `lines` stacks several text-sized bars.
 */
export function Skeleton({ className, lines }: { className?: string; lines?: number }) {
  if (lines && lines > 1) {
    return (
      <div className="space-y-2" aria-hidden>
        {Array.from({ length: lines }, (_, i) => (
          <div
            // biome-ignore lint/suspicious/noArrayIndexKey: static placeholders
            key={i}
            className={clsx("h-4 animate-pulse rounded bg-slate-200 dark:bg-slate-800", i === lines - 1 && "w-2/3")}
          />
        ))}
      </div>
    );
  }
  return <div aria-hidden className={clsx("animate-pulse rounded bg-slate-200 dark:bg-slate-800", className)} />;
}

/** Rows of skeleton cells for a table body while its query loads. */
export function SkeletonRows({ rows = 5, columns }: { rows?: number; columns: number }) {
  return (
    <>
      {Array.from({ length: rows }, (_, row) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: static placeholders
        <tr key={row} aria-hidden>
          {Array.from({ length: columns }, (_, column) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: static placeholders
            <td key={column} className="px-3 py-2.5">
              <div className="h-4 animate-pulse rounded bg-slate-200 dark:bg-slate-800" />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}
