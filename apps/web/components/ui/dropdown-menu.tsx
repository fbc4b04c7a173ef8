"use client";

import * as Menu from "@radix-ui/react-dropdown-menu";
import { clsx } from "clsx";
import { Check } from "lucide-react";
import type { ComponentProps } from "react";

// Menus on Radix: arrow keys move, Enter selects, Esc closes and focus returns to the trigger.

export const DropdownMenu = Menu.Root;
export const DropdownMenuTrigger = Menu.Trigger;
export const DropdownMenuRadioGroup = Menu.RadioGroup;
export const DropdownMenuLabel = ({ className, ...rest }: ComponentProps<typeof Menu.Label>) => (
  <Menu.Label className={clsx("px-2 py-1.5 text-xs text-slate-600 dark:text-slate-400", className)} {...rest} />
);
export const DropdownMenuSeparator = () => <Menu.Separator className="my-1 h-px bg-slate-200 dark:bg-slate-800" />;

const itemClasses =
  "relative flex cursor-default items-center gap-2 rounded px-2 py-1.5 text-sm outline-none select-none data-[disabled]:opacity-50 data-[highlighted]:bg-slate-100 dark:data-[highlighted]:bg-slate-800";

export function DropdownMenuContent({ className, sideOffset = 6, ...rest }: ComponentProps<typeof Menu.Content>) {
  return (
    <Menu.Portal>
      <Menu.Content
        sideOffset={sideOffset}
        className={clsx(
          "z-50 min-w-44 rounded-md border border-slate-200 bg-white p-1 text-slate-900 shadow-lg dark:border-slate-800 dark:bg-slate-900 dark:text-slate-100",
          className,
        )}
        {...rest}
      />
    </Menu.Portal>
  );
}

export function DropdownMenuItem({ className, ...rest }: ComponentProps<typeof Menu.Item>) {
  return <Menu.Item className={clsx(itemClasses, className)} {...rest} />;
}

export function DropdownMenuRadioItem({ className, children, ...rest }: ComponentProps<typeof Menu.RadioItem>) {
  return (
    <Menu.RadioItem className={clsx(itemClasses, "pr-8", className)} {...rest}>
      {children}
      <Menu.ItemIndicator className="absolute right-2">
        <Check className="size-4" aria-hidden />
      </Menu.ItemIndicator>
    </Menu.RadioItem>
  );
}
