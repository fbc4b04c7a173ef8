"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { TRPCClientError } from "@trpc/client";
import { useRouter } from "next/navigation";
import { useDeferredValue, useMemo, useState } from "react";
import { localTimeZone } from "../../lib/format.ts";
import {
  defaultDraft,
  inputFromDraft,
  type JobDraft,
  stepErrors,
  validateDraft,
  wizardSteps,
} from "../../lib/job-wizard/draft.ts";
import { retentionFromDraft } from "../../lib/job-wizard/retention.ts";
import { scheduleFromDraft } from "../../lib/job-wizard/schedule.ts";
import { useWizardSteps } from "../../lib/job-wizard/use-wizard-steps.ts";
import { useTRPC, useTRPCClient } from "../../lib/trpc-client.tsx";
import { Card, CardBody, CardHeader } from "../ui/card.tsx";
import { type AgentOption, BasicsStep, type S3Actions } from "./basics-step.tsx";
import { RetentionStep } from "./retention-step.tsx";
import { ReviewStep } from "./review-step.tsx";
import { ScheduleStep } from "./schedule-step.tsx";
import { SourceStep } from "./source-step.tsx";
import { WizardFrame } from "./wizard-frame.tsx";

/** The job wizard, for a new job or an existing one (`jobId` with its stored `initial` draft). */
export function JobWizard({
  initial,
  jobId,
  hasStoredKeys = false,
}: {
  initial?: JobDraft;
  jobId?: string;
  hasStoredKeys?: boolean;
}) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<JobDraft>(() => initial ?? defaultDraft());
  const [serverAttempt, setServerAttempt] = useState(0);
  const editing = jobId !== undefined;

  const wizard = useWizardSteps(draft, { hasStoredKeys, onFinish: () => save.mutate() });
  const { step, current, errors } = wizard;
  const agents = useQuery(trpc.agents.list.queryOptions());
  const agentOptions: AgentOption[] = (agents.data ?? [])
    .filter((agent) => agent.status !== "revoked")
    .map((agent) => ({ id: agent.id, name: agent.name, hostname: agent.hostname, state: agent.connectivity }));

  const update = (mutate: (draft: JobDraft) => void) => {
    setDraft((current) => {
      const next = structuredClone(current);
      mutate(next);
      return next;
    });
  };

  const s3: S3Actions = useMemo(
    () => ({
      test: (input) => client.destinations.test.mutate(input),
      buckets: (input) => client.destinations.buckets.mutate(input),
      createBucket: (input) => client.destinations.createBucket.mutate(input),
    }),
    [client],
  );

  const schedule = useDeferredValue(useMemo(() => scheduleFromDraft(draft.schedule), [draft.schedule]));
  const upcoming = useQuery({
    ...trpc.jobs.previewSchedule.queryOptions({ schedule, count: 5 }),
    enabled: step === 2 && schedule.kind !== "manual",
    retry: false,
  });

  const retention = useDeferredValue(useMemo(() => retentionFromDraft(draft.retention), [draft.retention]));
  const retentionErrors = stepErrors(validateDraft(draft, { hasStoredKeys }), "retention");
  const retentionValid = retention !== null && !Object.keys(retentionErrors).some((key) => key.startsWith("retention"));
  const preview = useQuery({
    ...trpc.snapshots.previewRetention.queryOptions(
      // The schedule's zone decides where the agent's days start (else the browser's), also for a job being edited.
      jobId
        ? { jobId, retention: retention ?? {}, schedule, timeZone: localTimeZone() }
        : { retention: retention ?? {}, schedule, timeZone: localTimeZone() },
    ),
    enabled: step === 3 && draft.engine === "backup" && retentionValid,
    retry: false,
    placeholderData: (previous) => previous,
  });

  const save = useMutation({
    mutationFn: async () => {
      const input = inputFromDraft(draft);
      if (jobId) {
        const { engine: _engine, encryptionMode: _encryption, ...changes } = input;
        return client.jobs.update.mutate({ jobId, changes });
      }
      return client.jobs.create.mutate(input);
    },
    onSuccess: async (job) => {
      // The list (and an edited job) must show what was just saved, not a cached copy.
      await queryClient.invalidateQueries(trpc.jobs.pathFilter());
      router.push(`/jobs?saved=${encodeURIComponent((job as { id: string }).id)}`);
    },
    onError: (error) => {
      // The server's field messages go back to their steps; the wizard jumps to the first one.
      const fieldErrors =
        error instanceof TRPCClientError
          ? ((error.data as { fieldErrors?: Record<string, string> | null } | undefined)?.fieldErrors ?? null)
          : null;
      if (fieldErrors && Object.keys(fieldErrors).length > 0) {
        wizard.showServerErrors(
          Object.fromEntries(
            Object.entries(fieldErrors).map(([path, message]) => [path.replace(/^changes\./, ""), message]),
          ),
        );
        setServerAttempt((attempt) => attempt + 1);
      }
    },
  });

  const agentName = agentOptions.find((agent) => agent.id === draft.agentId)?.name ?? "—";
  const stepProps = { draft, update, errors };
  return (
    <Card>
      <CardHeader title={current.title} description={`Step ${step + 1} of ${wizardSteps.length}`} />
      <CardBody>
        <WizardFrame
          steps={wizardSteps}
          current={step}
          onBack={wizard.back}
          onStepClick={wizard.goTo}
          onNext={wizard.next}
          nextLabel={current.id === "review" ? (editing ? "Save changes" : "Create job") : "Next"}
          pending={save.isPending}
          attempt={serverAttempt}
        >
          {current.id === "basics" && (
            <BasicsStep
              {...stepProps}
              agents={agentOptions}
              s3={s3}
              {...(jobId ? { jobId } : {})}
              hasStoredKeys={hasStoredKeys}
              editing={editing}
            />
          )}
          {current.id === "source" && <SourceStep {...stepProps} />}
          {current.id === "schedule" && (
            <ScheduleStep
              {...stepProps}
              upcoming={{
                dates: upcoming.data,
                error: upcoming.error ? upcoming.error.message : null,
                pending: upcoming.isPending,
              }}
            />
          )}
          {current.id === "retention" && (
            <RetentionStep
              {...stepProps}
              editing={editing}
              preview={{
                data: preview.data,
                error: preview.error ? preview.error.message : null,
                pending: preview.isFetching,
              }}
            />
          )}
          {current.id === "review" && (
            <ReviewStep
              input={inputFromDraft(draft)}
              agentName={agentName}
              errors={errors}
              enabled={draft.enabled}
              onEnabledChange={(enabled) =>
                update((d) => {
                  d.enabled = enabled;
                })
              }
            />
          )}
          {save.error && !(save.error instanceof TRPCClientError && save.error.data?.fieldErrors) && (
            <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
              The job could not be saved: {save.error.message}
            </p>
          )}
        </WizardFrame>
      </CardBody>
    </Card>
  );
}
