"use client";

import * as CheckboxPrimitive from "@radix-ui/react-checkbox";
import { clsx } from "clsx";
import { Check, Minus } from "lucide-react";
import { type ComponentProps, type ReactNode, useId } from "react";

/** A checkbox (tri-state: `checked="indeterminate"` for a partly selected folder), with an optional label. */
export function Checkbox({
  label,
  className,
  id,
  ...rest
}: ComponentProps<typeof CheckboxPrimitive.Root> & { label?: ReactNode }) {
  const generated = useId();
  const boxId = id ?? `checkbox-${generated}`;
  const box = (
    <CheckboxPrimitive.Root
      id={boxId}
      className={clsx(
        "inline-flex size-4 shrink-0 items-center justify-center rounded border border-slate-400 bg-white data-[state=checked]:border-sky-700 data-[state=checked]:bg-sky-700 data-[state=indeterminate]:border-sky-700 data-[state=indeterminate]:bg-sky-700 dark:border-slate-500 dark:bg-slate-900 dark:data-[state=checked]:bg-sky-600 dark:data-[state=indeterminate]:bg-sky-600",
        className,
      )}
      {...rest}
    >
      <CheckboxPrimitive.Indicator className="text-white">
        {rest.checked === "indeterminate" ? (
          <Minus className="size-3" aria-hidden />
        ) : (
          <Check className="size-3" aria-hidden />
        )}
      </CheckboxPrimitive.Indicator>
    </CheckboxPrimitive.Root>
  );
  if (!label) return box;
  return (
    <div className="flex items-center gap-2">
      {box}
      <label htmlFor={boxId} className="text-sm">
        {label}
      </label>
    </div>
  );
}
