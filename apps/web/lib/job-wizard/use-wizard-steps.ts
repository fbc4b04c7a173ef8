"use client";

import { useState } from "react";
import { type FieldErrors, type JobDraft, stepErrors, stepOf, validateDraft, wizardSteps } from "./draft.ts";

/**
 * The wizard's step machine: Next validates the current step with the server's schema and moves on only when the
 * step is clean; the last step's Next calls `onFinish`. Server-side refusals (`showServerErrors`) jump back to the
 * step of their first field.
 */
export function useWizardSteps(draft: JobDraft, options: { hasStoredKeys?: boolean; onFinish: () => void }) {
  const [step, setStep] = useState(0);
  const [errors, setErrors] = useState<FieldErrors>({});
  const current = wizardSteps[step]!;

  function next(): number {
    const mine = stepErrors(validateDraft(draft, { hasStoredKeys: options.hasStoredKeys ?? false }), current.id);
    setErrors(mine);
    const count = Object.keys(mine).length;
    if (count > 0) return count;
    if (current.id === "review") options.onFinish();
    else setStep(step + 1);
    return 0;
  }

  function goTo(index: number) {
    setErrors({});
    setStep(Math.max(0, Math.min(index, wizardSteps.length - 1)));
  }

  function showServerErrors(fieldErrors: FieldErrors) {
    setErrors(fieldErrors);
    const first = Object.keys(fieldErrors)[0];
    if (first) setStep(wizardSteps.findIndex((candidate) => candidate.id === stepOf(first)));
  }

  return { step, current, errors, next, back: () => goTo(step - 1), goTo, showServerErrors };
}
