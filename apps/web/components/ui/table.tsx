import { clsx } from "clsx";
import type { HTMLAttributes, ReactNode, TdHTMLAttributes, ThHTMLAttributes } from "react";
import { SkeletonRows } from "./skeleton.tsx";

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

/** One column of a DataTable: its header, what a row shows in it, and the cell's classes or attributes. */
export type Column<Row> = {
  /** Stable React key, unique in the table. */
  key: string;
  /** The header text; a visually hidden one for icon or action columns (`<span className="sr-only">Actions</span>`). */
  header: ReactNode;
  cell: (row: Row) => ReactNode;
  /** Classes of the body cell (fixed, or per row, e.g. a red count). */
  className?: string | ((row: Row) => string | undefined);
  /** Further attributes of the body cell: a `title` for truncated text, a `data-testid`. */
  cellProps?: (row: Row) => TdHTMLAttributes<HTMLTableCellElement> & Record<`data-${string}`, string | undefined>;
};

/**
 * The portal's one data table: a header row from `columns`, a row per entry of `rows`, skeleton rows while `rows`
 * is undefined (loading), and for an empty list either `empty` (a message in a full-width row) or `emptyView`
 * (shown instead of the whole table, e.g. an EmptyState with a call to action). `onRowClick` makes the whole row
 * clickable for the pointer; keyboard users keep the real links and buttons inside the row, and clicks on those are
 * left to them. Columns may be `false` to leave them out (`show.tenant && {…}`).
 */
export function DataTable<Row>({
  label,
  columns,
  rows,
  rowKey,
  rowProps,
  onRowClick,
  empty,
  emptyView,
  skeletonRows = 5,
  className,
}: {
  /** Names the table for screen readers. */
  label: string;
  columns: readonly (Column<Row> | false | null | undefined)[];
  /** undefined while loading. */
  rows: readonly Row[] | undefined;
  rowKey: (row: Row) => string;
  /** Attributes of a body row, e.g. `data-run-id` for tests and scripts. */
  rowProps?: (row: Row) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string | undefined>;
  onRowClick?: (row: Row) => void;
  empty?: ReactNode;
  emptyView?: ReactNode;
  skeletonRows?: number;
  className?: string;
}) {
  const shown = columns.filter((column): column is Column<Row> => Boolean(column));
  if (rows?.length === 0 && emptyView !== undefined) return <>{emptyView}</>;
  return (
    <Table label={label} className={className}>
      <THead>
        <tr>
          {shown.map((column) => (
            <Th key={column.key}>{column.header}</Th>
          ))}
        </tr>
      </THead>
      <TBody>
        {!rows && <SkeletonRows rows={skeletonRows} columns={shown.length} />}
        {rows?.length === 0 && empty !== undefined && (
          <tr>
            <Td colSpan={shown.length} className="text-slate-600 dark:text-slate-400">
              {empty}
            </Td>
          </tr>
        )}
        {rows?.map((row) => (
          <Tr
            key={rowKey(row)}
            {...rowProps?.(row)}
            className={onRowClick ? "cursor-pointer" : undefined}
            onClick={
              onRowClick
                ? (event) => {
                    if ((event.target as Element).closest("a, button, input, select, textarea, [role=menuitem]"))
                      return;
                    onRowClick(row);
                  }
                : undefined
            }
          >
            {shown.map((column) => (
              <Td
                key={column.key}
                {...column.cellProps?.(row)}
                className={typeof column.className === "function" ? column.className(row) : column.className}
              >
                {column.cell(row)}
              </Td>
            ))}
          </Tr>
        ))}
      </TBody>
    </Table>
  );
}
