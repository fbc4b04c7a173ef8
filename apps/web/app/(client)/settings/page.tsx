"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Bell, CheckCircle2, Mail, Trash2, Webhook, XCircle } from "lucide-react";
import { type FormEvent, useRef, useState } from "react";
import { Badge } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { Card, CardBody, CardHeader } from "../../../components/ui/card.tsx";
import { ConfirmDialog } from "../../../components/ui/confirm-dialog.tsx";
import { EmptyState } from "../../../components/ui/empty-state.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { Field } from "../../../components/ui/field.tsx";
import { Input, NativeSelect } from "../../../components/ui/input.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { RadioGroup, RadioItem } from "../../../components/ui/radio-group.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";

type Level = "all" | "errors" | "off";
const levelLabel: Record<Level, string> = { all: "Everything", errors: "Errors only", off: "Off" };

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function NotifyLevel({ value }: { value: Level }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const save = useMutation(
    trpc.settings.setNotifyOn.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.settings.notifications.queryKey() }),
    }),
  );
  return (
    <div className="space-y-3">
      <RadioGroup
        aria-label="Notify about"
        value={save.variables?.notifyOn ?? value}
        onValueChange={(next) => save.mutate({ notifyOn: next as Level })}
      >
        <RadioItem
          value="all"
          label="Everything"
          description="Every finished run, plus overdue jobs and offline agents."
        />
        <RadioItem
          value="errors"
          label="Errors only"
          description="Failed runs and runs with warnings, overdue jobs and offline agents. Recommended."
        />
        <RadioItem value="off" label="Off" description="No notifications; check the dashboard yourself." />
      </RadioGroup>
      <p aria-live="polite" className="text-sm text-slate-600 dark:text-slate-400">
        {save.isPending ? "Saving…" : save.isSuccess ? "Saved." : ""}
        {save.error && <span className="text-red-700 dark:text-red-400">Not saved: {save.error.message}</span>}
      </p>
    </div>
  );
}

function AddChannel() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<"email" | "webhook">("email");
  const [secret, setSecret] = useState("");
  const form = useRef<HTMLFormElement>(null);
  const add = useMutation(
    trpc.settings.addChannel.mutationOptions({
      onSuccess: () => {
        form.current?.reset();
        setSecret("");
        queryClient.invalidateQueries({ queryKey: trpc.settings.notifications.queryKey() });
      },
      onError: () => {
        // Focus the first field the server refused.
        requestAnimationFrame(() => form.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus());
      },
    }),
  );
  const fieldErrors =
    (add.error?.data as { fieldErrors?: Record<string, string> | null } | undefined)?.fieldErrors ?? {};
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const common = {
      name: String(data.get("name") ?? ""),
      target: String(data.get("target") ?? ""),
      notifyOn: String(data.get("notifyOn")) as Level,
    };
    add.mutate(kind === "email" ? { kind, ...common } : { kind, ...common, secret });
  }
  return (
    <form ref={form} onSubmit={submit} className="space-y-4" noValidate>
      <RadioGroup
        aria-label="Channel type"
        value={kind}
        onValueChange={(value) => setKind(value as "email" | "webhook")}
        className="grid-cols-1 sm:grid-cols-2"
      >
        <RadioItem value="email" label="Email" description="A mailbox or a team list." />
        <RadioItem
          value="webhook"
          label="Webhook"
          description="A JSON POST, signed with HMAC-SHA256 (X-E3-Signature)."
        />
      </RadioGroup>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Name" error={fieldErrors.name} required>
          <Input
            name="name"
            maxLength={100}
            autoComplete="off"
            placeholder={kind === "email" ? "Ops team" : "Chat alerts"}
          />
        </Field>
        <Field label={kind === "email" ? "Email address" : "URL"} error={fieldErrors.target} required>
          <Input
            name="target"
            type={kind === "email" ? "email" : "url"}
            autoComplete="off"
            placeholder={kind === "email" ? "ops@example.com" : "https://hooks.example.com/e3"}
          />
        </Field>
        {kind === "webhook" && (
          <div className="flex items-start gap-2">
            <Field
              label="Signing secret"
              error={fieldErrors.secret}
              description="At least 16 characters; your receiver checks the signature with it."
              required
              className="flex-1"
            >
              <Input
                name="secret"
                value={secret}
                onChange={(event) => setSecret(event.target.value)}
                autoComplete="off"
              />
            </Field>
            <Button variant="secondary" className="mt-7" onClick={() => setSecret(randomSecret())}>
              Generate
            </Button>
          </div>
        )}
        <Field label="Send" error={fieldErrors.notifyOn}>
          <NativeSelect name="notifyOn" defaultValue="errors">
            <option value="errors">Errors only</option>
            <option value="all">Everything</option>
            <option value="off">Nothing (paused)</option>
          </NativeSelect>
        </Field>
      </div>
      {add.error && Object.keys(fieldErrors).length === 0 && (
        <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
          {add.error.message}
        </p>
      )}
      <Button type="submit" pending={add.isPending}>
        Add channel
      </Button>
    </form>
  );
}

type Channel = { id: string; kind: string; name: string; target: string; notifyOn: Level; enabled: boolean };

function ChannelRow({ channel, onRemove }: { channel: Channel; onRemove: () => void }) {
  const trpc = useTRPC();
  const test = useMutation(trpc.settings.testChannel.mutationOptions());
  const Icon = channel.kind === "email" ? Mail : Webhook;
  return (
    <li className="space-y-2 py-3" data-testid="channel">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
        <Icon className="size-4 shrink-0 text-slate-500" aria-hidden />
        <span className="font-medium">{channel.name}</span>
        <span className="min-w-0 truncate text-sm text-slate-600 dark:text-slate-400">{channel.target}</span>
        <Badge tone={channel.notifyOn === "off" ? "grey" : "blue"}>{levelLabel[channel.notifyOn]}</Badge>
        <div className="ml-auto flex gap-2">
          <Button
            variant="secondary"
            size="sm"
            onClick={() => test.mutate({ channelId: channel.id })}
            pending={test.isPending}
          >
            <Bell aria-hidden /> Test
          </Button>
          <Button variant="ghost" size="sm" onClick={onRemove} aria-label={`Remove ${channel.name}`}>
            <Trash2 aria-hidden />
          </Button>
        </div>
      </div>
      <div aria-live="polite" data-testid="channel-test-result">
        {test.data?.delivered && (
          <p className="flex items-center gap-1.5 text-sm text-emerald-700 dark:text-emerald-400">
            <CheckCircle2 className="size-4" aria-hidden /> Test sent. Check that it arrived.
          </p>
        )}
        {(test.data?.error || test.error) && (
          <p className="flex items-center gap-1.5 text-sm text-red-700 dark:text-red-400">
            <XCircle className="size-4 shrink-0" aria-hidden /> Test failed: {test.data?.error ?? test.error?.message}
          </p>
        )}
      </div>
    </li>
  );
}

/** Notification preferences: the tenant's level, and email/webhook channels each with its own level and a Test. */
export default function SettingsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const settings = useQuery(trpc.settings.notifications.queryOptions());
  const remove = useMutation(trpc.settings.removeChannel.mutationOptions());
  const [removing, setRemoving] = useState<Channel | null>(null);

  return (
    <div className="space-y-6">
      <PageHeader title="Settings" description="Who hears about your backups, and when." />
      <ErrorState error={settings.error} onRetry={settings.refetch} what="The notification settings" />
      <Card aria-labelledby="level-heading">
        <CardHeader
          id="level-heading"
          title="Notifications"
          description="The default for all jobs. Without email channels, your account's users get the emails."
        />
        <CardBody>{settings.data ? <NotifyLevel value={settings.data.notifyOn} /> : <Skeleton lines={3} />}</CardBody>
      </Card>
      <Card aria-labelledby="channels-heading">
        <CardHeader id="channels-heading" title="Channels" />
        <CardBody className="space-y-6">
          {settings.isPending ? (
            <Skeleton lines={2} />
          ) : settings.data?.channels.length === 0 ? (
            <EmptyState icon={Bell} title="No channels yet">
              Add an email address or a webhook below, then press Test.
            </EmptyState>
          ) : (
            <ul className="divide-y divide-slate-100 dark:divide-slate-800">
              {settings.data?.channels.map((channel) => (
                <ChannelRow key={channel.id} channel={channel} onRemove={() => setRemoving(channel)} />
              ))}
            </ul>
          )}
          <div className="border-t border-slate-200 pt-5 dark:border-slate-800">
            <h3 className="mb-3 text-sm font-semibold">Add a channel</h3>
            <AddChannel />
          </div>
        </CardBody>
      </Card>
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(open) => !open && setRemoving(null)}
        title={`Remove ${removing?.name ?? "channel"}?`}
        description="Notifications stop going to it at once."
        confirmLabel="Remove"
        onConfirm={async () => {
          if (!removing) return;
          await remove.mutateAsync({ channelId: removing.id });
          await queryClient.invalidateQueries({ queryKey: trpc.settings.notifications.queryKey() });
        }}
      />
    </div>
  );
}
