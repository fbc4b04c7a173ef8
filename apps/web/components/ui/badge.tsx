import { clsx } from "clsx";
import type { HTMLAttributes } from "react";

export type Tone = "green" | "amber" | "red" | "blue" | "grey";

export const toneClasses: Record<Tone, string> = {
  green: "bg-emerald-100 text-emerald-900 ring-emerald-600/20 dark:bg-emerald-900/40 dark:text-emerald-200",
  amber: "bg-amber-100 text-amber-900 ring-amber-600/20 dark:bg-amber-900/40 dark:text-amber-200",
  red: "bg-red-100 text-red-900 ring-red-600/20 dark:bg-red-900/40 dark:text-red-200",
  blue: "bg-sky-100 text-sky-900 ring-sky-600/20 dark:bg-sky-900/40 dark:text-sky-200",
  grey: "bg-slate-100 text-slate-800 ring-slate-500/20 dark:bg-slate-800 dark:text-slate-200",
};

export const dotClasses: Record<Tone, string> = {
  green: "bg-emerald-500",
  amber: "bg-amber-500",
  red: "bg-red-600",
  blue: "bg-sky-500",
  grey: "bg-slate-400",
};

export function Badge({ tone = "grey", className, ...rest }: HTMLAttributes<HTMLSpanElement> & { tone?: Tone }) {
  return (
    <span
      className={clsx(
        "inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset",
        toneClasses[tone],
        className,
      )}
      {...rest}
    />
  );
}
