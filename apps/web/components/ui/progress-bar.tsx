import { clsx } from "clsx";

/**
 * A progress bar; `value` null means indeterminate (scanning, totals unknown) and shows a moving stripe.
 * `label` names it for screen readers.
 */
export function ProgressBar({
  value,
  label,
  className,
}: {
  /** 0..1, or null while the total is unknown. */
  value: number | null;
  label: string;
  className?: string;
}) {
  const percent = value === null ? null : Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent ?? undefined}
      aria-valuetext={percent === null ? "calculating" : `${percent} %`}
      className={clsx("h-2.5 w-full overflow-hidden rounded-full bg-slate-200 dark:bg-slate-800", className)}
    >
      {percent === null ? (
        <div className="h-full w-2/5 animate-[e3-indeterminate_1.4s_ease-in-out_infinite] rounded-full bg-sky-600 dark:bg-sky-400" />
      ) : (
        <div
          className="h-full rounded-full bg-sky-600 transition-[width] duration-500 dark:bg-sky-400"
          style={{ width: `${percent}%` }}
        />
      )}
    </div>
  );
}
