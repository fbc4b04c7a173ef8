"use client";

import * as RadioPrimitive from "@radix-ui/react-radio-group";
import { clsx } from "clsx";
import { type ComponentProps, type ReactNode, useId } from "react";

/** Radio buttons as a group (arrow keys move between options); give it `aria-label` or `aria-labelledby`. */
export function RadioGroup({ className, ...rest }: ComponentProps<typeof RadioPrimitive.Root>) {
  return <RadioPrimitive.Root className={clsx("grid gap-2", className)} {...rest} />;
}

export function RadioItem({
  value,
  label,
  description,
  disabled,
}: {
  value: string;
  label: ReactNode;
  description?: ReactNode;
  disabled?: boolean;
}) {
  const id = `radio-${useId()}`;
  return (
    <div className="flex items-start gap-2.5">
      <RadioPrimitive.Item
        id={id}
        value={value}
        disabled={disabled}
        aria-describedby={description ? `${id}-description` : undefined}
        className="mt-0.5 inline-flex size-4 shrink-0 items-center justify-center rounded-full border border-slate-400 bg-white disabled:opacity-50 data-[state=checked]:border-sky-700 dark:border-slate-500 dark:bg-slate-900 dark:data-[state=checked]:border-sky-400"
      >
        <RadioPrimitive.Indicator className="size-2 rounded-full bg-sky-700 dark:bg-sky-400" />
      </RadioPrimitive.Item>
      <div className="space-y-0.5">
        <label htmlFor={id} className={clsx("text-sm font-medium", disabled && "opacity-60")}>
          {label}
        </label>
        {description && (
          <p id={`${id}-description`} className="text-sm text-slate-600 dark:text-slate-400">
            {description}
          </p>
        )}
      </div>
    </div>
  );
}
