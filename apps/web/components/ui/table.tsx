import { clsx } from "clsx";
import type { HTMLAttributes, TdHTMLAttributes, ThHTMLAttributes } from "react";

/** A data table that scrolls sideways on a phone instead of breaking the page. `label` names it for screen readers. */
export function Table({ className, label, ...rest }: HTMLAttributes<HTMLTableElement> & { label?: string }) {
  return (
    <div className="w-full overflow-x-auto">
      <table aria-label={label} className={clsx("w-full border-collapse text-left text-sm", className)} {...rest} />
    </div>
  );
}

export function THead({ className, ...rest }: HTMLAttributes<HTMLTableSectionElement>) {
  return (
    <thead
      className={clsx(
        "border-b border-slate-200 text-xs font-medium tracking-wide text-slate-600 uppercase dark:border-slate-800 dark:text-slate-400",
        className,
      )}
      {...rest}
    />
  );
}

export function TBody({ className, ...rest }: HTMLAttributes<HTMLTableSectionElement>) {
  return <tbody className={clsx("divide-y divide-slate-100 dark:divide-slate-800", className)} {...rest} />;
}

export function Tr({ className, ...rest }: HTMLAttributes<HTMLTableRowElement>) {
  return <tr className={clsx("hover:bg-slate-50 dark:hover:bg-slate-800/50", className)} {...rest} />;
}

export function Th({ className, scope, ...rest }: ThHTMLAttributes<HTMLTableCellElement>) {
  return <th scope={scope ?? "col"} className={clsx("px-3 py-2 whitespace-nowrap", className)} {...rest} />;
}

export function Td({ className, ...rest }: TdHTMLAttributes<HTMLTableCellElement>) {
  return <td className={clsx("px-3 py-2 align-middle", className)} {...rest} />;
}
