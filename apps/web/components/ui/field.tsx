"use client";

import { clsx } from "clsx";
import { Children, cloneElement, isValidElement, type ReactElement, type ReactNode, useId } from "react";

type ControlProps = {
  id?: string;
  "aria-invalid"?: boolean | "true" | "false";
  "aria-describedby"?: string;
  "aria-required"?: boolean;
};

export type FieldProps = {
  label: ReactNode;
  /** One control element (Input, Textarea, NativeSelect, …); it receives id, aria-invalid and aria-describedby. */
  children: ReactElement<ControlProps>;
  description?: ReactNode;
  /** The message shown under the control; sets aria-invalid. */
  error?: string | null;
  required?: boolean;
  className?: string;
};

/**
 * Label + control + description + error, wired for assistive technology: the label targets the control, the
 * description and the error are announced with it (aria-describedby), and an error sets aria-invalid.
 */
export function Field({ label, children, description, error, required, className }: FieldProps) {
  const generated = useId();
  const child = Children.only(children);
  const id = (isValidElement(child) && child.props.id) || `field-${generated}`;
  const descriptionId = description ? `${id}-description` : null;
  const errorId = error ? `${id}-error` : null;
  const describedBy = [child.props["aria-describedby"], descriptionId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={clsx("space-y-1.5", className)}>
      <label htmlFor={id} className="block text-sm font-medium text-slate-800 dark:text-slate-200">
        {label}
        {required && (
          <span className="text-red-700 dark:text-red-400" aria-hidden>
            {" "}
            *
          </span>
        )}
      </label>
      {cloneElement(child, {
        id,
        "aria-invalid": error ? true : undefined,
        "aria-describedby": describedBy,
        ...(required ? { "aria-required": true } : {}),
      })}
      {description && (
        <p id={descriptionId ?? undefined} className="text-sm text-slate-600 dark:text-slate-400">
          {description}
        </p>
      )}
      {error && (
        <p id={errorId ?? undefined} className="text-sm font-medium text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );
}
