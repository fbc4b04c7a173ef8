"use client";

import { clsx } from "clsx";
import { Check } from "lucide-react";
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from "react";
import { Button } from "../ui/button.tsx";

export type FrameStep = { id: string; title: string };

/**
 * A wizard's frame: the step indicator, the current step's form and Back/Next. Next asks `onNext` whether the step
 * is valid (it returns the number of errors); with errors the first invalid control gets the focus and is scrolled
 * into view, so the user lands where the problem is.
 */
export function WizardFrame({
  steps,
  current,
  onBack,
  onNext,
  onStepClick,
  nextLabel = "Next",
  pending = false,
  children,
  attempt,
}: {
  steps: readonly FrameStep[];
  current: number;
  onBack: () => void;
  onNext: () => number;
  /** Going back to an earlier step from the indicator. */
  onStepClick?: (index: number) => void;
  nextLabel?: string;
  pending?: boolean;
  children: ReactNode;
  /** Bumped by the container when it wants the first error focused (e.g. after the server refused a save). */
  attempt?: number;
}) {
  const formRef = useRef<HTMLFormElement>(null);
  // Bumped on a refused Next; the effect runs after the errors are rendered, then focuses the first one.
  const [focusTick, setFocusTick] = useState(0);

  function focusFirstError() {
    const invalid = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    if (invalid) {
      invalid.focus();
      invalid.scrollIntoView?.({ block: "center", behavior: "smooth" });
    }
  }

  // biome-ignore lint/correctness/useExhaustiveDependencies: the ticks are the triggers
  useEffect(() => {
    if (focusTick > 0 || (attempt ?? 0) > 0) focusFirstError();
  }, [focusTick, attempt]);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (onNext() > 0) setFocusTick((tick) => tick + 1);
  }

  return (
    <div className="space-y-6">
      <nav aria-label="Wizard steps">
        <ol className="flex flex-wrap gap-2">
          {steps.map((step, index) => {
            const state = index < current ? "done" : index === current ? "current" : "todo";
            const label = (
              <>
                <span
                  className={clsx(
                    "inline-flex size-6 items-center justify-center rounded-full text-xs font-semibold",
                    state === "done" && "bg-sky-700 text-white dark:bg-sky-600",
                    state === "current" && "border-2 border-sky-700 text-sky-800 dark:border-sky-400 dark:text-sky-200",
                    state === "todo" &&
                      "border border-slate-300 text-slate-600 dark:border-slate-700 dark:text-slate-400",
                  )}
                  aria-hidden
                >
                  {state === "done" ? <Check className="size-3.5" /> : index + 1}
                </span>
                <span className={clsx("text-sm", state === "current" && "font-semibold")}>{step.title}</span>
              </>
            );
            return (
              <li key={step.id} aria-current={state === "current" ? "step" : undefined}>
                {state === "done" && onStepClick ? (
                  <button
                    type="button"
                    className="flex items-center gap-2 rounded-md px-2 py-1 hover:bg-slate-100 dark:hover:bg-slate-800"
                    onClick={() => onStepClick(index)}
                  >
                    {label}
                    <span className="sr-only">(done; go back to it)</span>
                  </button>
                ) : (
                  <span className="flex items-center gap-2 px-2 py-1">{label}</span>
                )}
              </li>
            );
          })}
        </ol>
      </nav>
      <form
        ref={formRef}
        onSubmit={submit}
        noValidate
        className="space-y-6"
        aria-label={`Step ${current + 1}: ${steps[current]?.title ?? ""}`}
      >
        {children}
        <div className="flex flex-wrap justify-between gap-3 border-t border-slate-200 pt-4 dark:border-slate-800">
          <Button variant="secondary" onClick={onBack} disabled={current === 0 || pending}>
            Back
          </Button>
          <Button type="submit" pending={pending}>
            {nextLabel}
          </Button>
        </div>
      </form>
    </div>
  );
}
