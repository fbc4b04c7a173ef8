import type { FieldErrors, JobDraft } from "../../lib/job-wizard/draft.ts";

/** What every step gets: the draft, a way to change it (mutate a copy), and the errors of the last Next. */
export type StepProps = {
  draft: JobDraft;
  update: (mutate: (draft: JobDraft) => void) => void;
  errors: FieldErrors;
};
