"use client";

import { ChevronLeft, ChevronRight } from "lucide-react";
import { useState } from "react";
import { Button } from "./button.tsx";

/**
 * Cursor pages for a table: the cursors of the pages seen so far, so Previous goes back without the server keeping
 * state. Pass the filters as `resetKey`; changing them starts again at the first page.
 */
export function useCursorPages(resetKey: string) {
  const [state, setState] = useState<{ key: string; stack: (string | null)[] }>({ key: resetKey, stack: [null] });
  const stack = state.key === resetKey ? state.stack : [null];
  return {
    cursor: stack.at(-1) ?? null,
    page: stack.length,
    next: (cursor: string) => setState({ key: resetKey, stack: [...stack, cursor] }),
    previous: () => setState({ key: resetKey, stack: stack.length > 1 ? stack.slice(0, -1) : stack }),
  };
}

/** Previous / Next under a table, with the page number; Next only when the server said there is more. */
export function Pager({
  pages,
  nextCursor,
  label = "Pages",
}: {
  pages: ReturnType<typeof useCursorPages>;
  nextCursor: string | null | undefined;
  label?: string;
}) {
  return (
    <nav aria-label={label} className="flex items-center justify-end gap-2 text-sm">
      <span className="text-slate-600 dark:text-slate-400">Page {pages.page}</span>
      <Button variant="secondary" size="sm" disabled={pages.page === 1} onClick={pages.previous}>
        <ChevronLeft aria-hidden /> Previous
      </Button>
      <Button variant="secondary" size="sm" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        Next <ChevronRight aria-hidden />
      </Button>
    </nav>
  );
}
