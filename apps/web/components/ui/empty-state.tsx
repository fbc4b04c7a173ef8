import type { LucideIcon } from "lucide-react";
import type { ReactNode } from "react";

/** What an empty list shows: what would be here, and the call to action that fills it. */
export function EmptyState({
  icon: Icon,
  title,
  children,
  action,
}: {
  icon?: LucideIcon;
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="flex flex-col items-center gap-3 rounded-lg border border-dashed border-slate-300 px-6 py-10 text-center dark:border-slate-700">
      {Icon && <Icon className="size-8 text-slate-500 dark:text-slate-400" aria-hidden />}
      <p className="text-base font-semibold">{title}</p>
      {children && <div className="max-w-prose text-sm text-slate-600 dark:text-slate-400">{children}</div>}
      {action}
    </div>
  );
}
