"use client";

import * as TooltipPrimitive from "@radix-ui/react-tooltip";
import type { ReactNode } from "react";

/** Mounted once by the shell; tooltips anywhere below share its delay. */
export function TooltipProvider({ children }: { children: ReactNode }) {
  return <TooltipPrimitive.Provider delayDuration={300}>{children}</TooltipPrimitive.Provider>;
}

/**
 * A hover/focus tooltip. The trigger must be focusable for keyboard users: pass a button or link, or let Tooltip wrap
 * plain text in a button (`asText`).
 */
export function Tooltip({
  content,
  children,
  side = "top",
  asText = false,
}: {
  content: ReactNode;
  children: ReactNode;
  side?: "top" | "bottom" | "left" | "right";
  asText?: boolean;
}) {
  return (
    <TooltipPrimitive.Root>
      <TooltipPrimitive.Trigger asChild>
        {asText ? (
          <button
            type="button"
            className="cursor-help text-left underline decoration-slate-400 decoration-dotted underline-offset-2"
          >
            {children}
          </button>
        ) : (
          children
        )}
      </TooltipPrimitive.Trigger>
      <TooltipPrimitive.Portal>
        <TooltipPrimitive.Content
          side={side}
          sideOffset={6}
          className="z-50 max-w-sm rounded-md bg-slate-900 px-2.5 py-1.5 text-xs break-all text-white shadow-lg dark:bg-slate-100 dark:text-slate-900"
        >
          {content}
          <TooltipPrimitive.Arrow className="fill-slate-900 dark:fill-slate-100" />
        </TooltipPrimitive.Content>
      </TooltipPrimitive.Portal>
    </TooltipPrimitive.Root>
  );
}
