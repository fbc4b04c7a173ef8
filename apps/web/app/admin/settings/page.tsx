"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { Button } from "../../../components/ui/button.tsx";
import { SectionCard } from "../../../components/ui/card.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { Field } from "../../../components/ui/field.tsx";
import { Input } from "../../../components/ui/input.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";

type Form = { endpoint: string; region: string; watchdog: string; grace: string };
type Errors = Partial<Record<keyof Form | "form", string>>;

/** The same rules the server applies (admin.updateSettings), checked first so the error shows at once. */
function validate(form: Form): Errors {
  const errors: Errors = {};
  if (form.endpoint && !/^https?:\/\/[^/\s]+/.test(form.endpoint)) {
    errors.endpoint = "must be an http(s) URL such as https://s3.example.com";
  }
  const watchdog = Number(form.watchdog);
  const grace = Number(form.grace);
  if (!Number.isInteger(watchdog) || watchdog < 60) errors.watchdog = "must be a whole number of seconds, at least 60";
  if (!Number.isInteger(grace) || grace < 30) errors.grace = "must be a whole number of seconds, at least 30";
  else if (!errors.watchdog && grace >= watchdog) {
    errors.grace =
      "must be less than the watchdog timeout, or the watchdog fails runs their agents could still reclaim";
  }
  return errors;
}

/** Provider-wide settings: the S3 endpoint agents use, and the watchdog and reclaim timings. */
export default function AdminSettingsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const settings = useQuery(trpc.admin.settings.queryOptions());
  const [form, setForm] = useState<Form | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [saved, setSaved] = useState(false);
  const update = useMutation(trpc.admin.updateSettings.mutationOptions());

  useEffect(() => {
    if (settings.data && !form) {
      setForm({
        endpoint: settings.data.agent_s3_endpoint ?? "",
        region: settings.data.agent_s3_region ?? "",
        watchdog: String(settings.data.watchdogTimeoutSeconds),
        grace: String(settings.data.reclaimGraceSeconds),
      });
    }
  }, [settings.data, form]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!form) return;
    const formElement = event.currentTarget;
    const found = validate(form);
    setErrors(found);
    setSaved(false);
    const focusFirst = () =>
      setTimeout(() => formElement.querySelector<HTMLInputElement>("[aria-invalid=true]")?.focus(), 0);
    if (Object.keys(found).length > 0) return focusFirst();
    try {
      await update.mutateAsync({
        ...(form.endpoint ? { agent_s3_endpoint: form.endpoint } : {}),
        ...(form.region ? { agent_s3_region: form.region } : {}),
        agentTimings: { watchdogTimeoutSeconds: Number(form.watchdog), reclaimGraceSeconds: Number(form.grace) },
      });
      setSaved(true);
      void queryClient.invalidateQueries({ queryKey: trpc.admin.settings.queryKey() });
    } catch (failure) {
      const fieldErrors = (failure as { data?: { fieldErrors?: Record<string, string> | null } }).data?.fieldErrors;
      setErrors({
        endpoint: fieldErrors?.agent_s3_endpoint,
        region: fieldErrors?.agent_s3_region,
        watchdog: fieldErrors?.["agentTimings.watchdogTimeoutSeconds"],
        grace: fieldErrors?.["agentTimings.reclaimGraceSeconds"],
        form: fieldErrors ? undefined : (failure as Error).message,
      });
      focusFirst();
    }
  }

  const set = (key: keyof Form) => (event: { target: { value: string } }) =>
    setForm((current) => (current ? { ...current, [key]: event.target.value } : current));
  const defaults = settings.data?.defaults;

  return (
    <>
      <PageHeader title="Settings" description="Provider-wide values for every tenant's agents." />
      <ErrorState error={settings.error} onRetry={settings.refetch} what="The settings" />
      {!form ? (
        <Skeleton className="h-96" />
      ) : (
        <form onSubmit={submit} className="space-y-6" noValidate>
          <SectionCard
            id="s3-heading"
            title="Agent S3 endpoint"
            description="Where agents reach the S3 storage for jobs that do not name their own endpoint."
            bodyClassName="grid max-w-xl gap-4"
          >
            <Field label="Endpoint URL" error={errors.endpoint} description="For example https://s3.example.com">
              <Input value={form.endpoint} onChange={set("endpoint")} inputMode="url" />
            </Field>
            <Field label="Region" error={errors.region} description="Optional; us-east-1 when empty.">
              <Input value={form.region} onChange={set("region")} />
            </Field>
          </SectionCard>
          <SectionCard
            id="timings-heading"
            title="Watchdog and reclaim"
            description="Agents heartbeat every 30 seconds while a run is in progress."
            bodyClassName="grid max-w-xl gap-4"
          >
            <Field
              label="Watchdog timeout (seconds)"
              error={errors.watchdog}
              description={`A run whose agent is silent this long fails with AGENT_OFFLINE. Environment default: ${defaults?.watchdogTimeoutSeconds ?? "—"}.`}
            >
              <Input value={form.watchdog} onChange={set("watchdog")} inputMode="numeric" />
            </Field>
            <Field
              label="Reclaim grace (seconds)"
              error={errors.grace}
              description={`After this silence the run's own agent may take it up again (it restarted). Must be less than the watchdog timeout. Environment default: ${defaults?.reclaimGraceSeconds ?? "—"}.`}
            >
              <Input value={form.grace} onChange={set("grace")} inputMode="numeric" />
            </Field>
          </SectionCard>
          {errors.form && (
            <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
              {errors.form}
            </p>
          )}
          <div className="flex items-center gap-3">
            <Button type="submit" pending={update.isPending}>
              Save settings
            </Button>
            {saved && (
              <p role="status" className="text-sm font-medium text-emerald-700 dark:text-emerald-400">
                Saved. Agents and the watchdog use the new values within seconds.
              </p>
            )}
          </div>
        </form>
      )}
    </>
  );
}
