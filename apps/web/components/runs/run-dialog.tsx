"use client";

import Link from "next/link";
import { type MouseEvent, type ReactNode, useRef, useState } from "react";
import { Dialog, DialogContent } from "../ui/dialog.tsx";
import { RunDetail } from "./run-detail.tsx";

/**
 * A run's name in a list that opens the run in a modal (event timeline, live progress, tailing log) over the list.
 * It stays a real link to the run page: a middle or modified click, "copy link" and a browser without script go
 * there. Esc or × closes the modal and focus returns to the link.
 */
export function RunDialogLink({
  runId,
  title,
  children,
  className,
  href = `/runs/${runId}`,
  detail = (id) => <RunDetail runId={id} variant="dialog" />,
}: {
  runId: string;
  /** Where the link goes without the modal; the client run page unless given (the admin run page). */
  href?: string;
  /** The dialog's title, e.g. "Run of Documents". */
  title: string;
  children: ReactNode;
  className?: string;
  /** What the modal shows; the run page's own components unless a test passes its own. */
  detail?: (runId: string) => ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const link = useRef<HTMLAnchorElement>(null);
  const openInModal = (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    setOpen(true);
  };
  return (
    <>
      <Link ref={link} href={href} onClick={openInModal} className={className} aria-haspopup="dialog">
        {children}
      </Link>
      <Dialog open={open} onOpenChange={setOpen}>
        {open && (
          <DialogContent
            title={title}
            size="xl"
            onCloseAutoFocus={(event) => {
              event.preventDefault();
              link.current?.focus();
            }}
          >
            {detail(runId)}
          </DialogContent>
        )}
      </Dialog>
    </>
  );
}
