"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import { CheckCircle2, Loader2, Plus } from "lucide-react";
import { type FormEvent, useEffect, useState } from "react";
import { Button } from "../../../components/ui/button.tsx";
import { CopyButton } from "../../../components/ui/copy-button.tsx";
import { Dialog, DialogClose, DialogContent, DialogTrigger } from "../../../components/ui/dialog.tsx";
import { Field } from "../../../components/ui/field.tsx";
import { Input, NativeSelect } from "../../../components/ui/input.tsx";
import { RelativeTime } from "../../../components/ui/relative-time.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";

/** The commands a machine runs to join: enroll once with the one-time token, then run the agent. */
export function enrollCommands(server: string, token: string): string {
  return [`e3-backup-agent enroll --server ${server} --token ${token}`, "e3-backup-agent run"].join("\n");
}

type Created = { id: string; token: string; expiresAt: Date };

/**
 * Enroll a machine: create a one-time token, show the command with a copy button, then wait (polling the token's
 * state) until the agent has used it and polled once, and say so.
 */
export function EnrollDialog({ onEnrolled }: { onEnrolled: () => void }) {
  const trpc = useTRPC();
  const [open, setOpen] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const create = useMutation(trpc.agents.createEnrollmentToken.mutationOptions());
  const tokens = useQuery({
    ...trpc.agents.enrollmentTokens.queryOptions(),
    enabled: open && created !== null,
    refetchInterval: 2000,
  });
  const agents = useQuery({
    ...trpc.agents.list.queryOptions(),
    enabled: open && created !== null,
    refetchInterval: 2000,
  });
  const used = created ? tokens.data?.find((token) => token.id === created.id) : undefined;
  const agent = used?.usedByAgentId ? agents.data?.find((candidate) => candidate.id === used.usedByAgentId) : undefined;
  // Enrolling alone is "never" connected; the agent is online with its first poll (its service or `run`).
  const polled = agent?.connectivity === "online";

  useEffect(() => {
    if (agent) onEnrolled();
  }, [agent, onEnrolled]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const label = String(form.get("label") ?? "").trim();
    const result = await create.mutateAsync({ label: label || null, ttlHours: Number(form.get("ttlHours")) });
    setCreated(result);
  }

  const server = typeof window === "undefined" ? "" : window.location.origin;
  const commands = created ? enrollCommands(server, created.token) : "";

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          setCreated(null);
          create.reset();
        }
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <Plus aria-hidden /> Enroll a machine
        </Button>
      </DialogTrigger>
      <DialogContent
        size="lg"
        title="Enroll a machine"
        description="The agent runs on the machine to back up and connects out to this portal; nothing needs to reach the machine."
        footer={
          <DialogClose asChild>
            <Button variant={agent ? "primary" : "secondary"}>{agent ? "Done" : "Close"}</Button>
          </DialogClose>
        }
      >
        {!created ? (
          <form id="enroll-form" onSubmit={submit} className="space-y-4">
            <Field label="Label" description="Optional, to recognise the token later (e.g. the machine's name).">
              <Input name="label" maxLength={200} autoComplete="off" />
            </Field>
            <Field label="Token valid for">
              <NativeSelect name="ttlHours" defaultValue="24">
                <option value="1">1 hour</option>
                <option value="24">24 hours</option>
                <option value="168">7 days</option>
              </NativeSelect>
            </Field>
            {create.error && (
              <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
                {create.error.message}
              </p>
            )}
            <Button type="submit" pending={create.isPending}>
              Create enrollment token
            </Button>
          </form>
        ) : (
          <div className="space-y-5">
            <ol className="list-decimal space-y-4 pl-5 text-sm">
              <li className="space-y-2">
                <p>
                  Install the e3 agent on the machine (Node.js 24; the <code>e3-backup-agent</code> command from this e3
                  release&apos;s <code>apps/agent</code>).
                </p>
              </li>
              <li className="space-y-2">
                <p>
                  Enroll it and start it. The token works once and expires <RelativeTime date={created.expiresAt} />:
                </p>
                <div className="relative">
                  <pre
                    // biome-ignore lint/a11y/noNoninteractiveTabindex: it scrolls sideways, so keyboard users must reach it
                    tabIndex={0}
                    data-testid="enroll-command"
                    className="overflow-x-auto rounded-md bg-slate-900 p-3 pr-24 font-mono text-xs text-slate-100 dark:bg-slate-950"
                  >
                    {commands}
                  </pre>
                  <div className="absolute top-2 right-2">
                    <CopyButton text={commands} label="Copy" />
                  </div>
                </div>
                <p className="text-slate-600 dark:text-slate-400">
                  The token is shown only now; only its hash is stored. Create a new one if it is lost.
                </p>
              </li>
            </ol>
            <div
              aria-live="polite"
              data-testid="enroll-status"
              className="flex items-center gap-2 rounded-md border border-slate-200 p-3 text-sm dark:border-slate-800"
            >
              {agent ? (
                <>
                  <CheckCircle2 className="size-5 text-emerald-600 dark:text-emerald-400" aria-hidden />
                  <span>
                    <strong>{agent.name}</strong> ({agent.hostname}) enrolled
                    {polled ? " and online." : "; waiting for its first poll…"}
                  </span>
                </>
              ) : (
                <>
                  <Loader2 className="size-5 animate-spin text-slate-500" aria-hidden />
                  <span>Waiting for the agent to enroll… this updates by itself.</span>
                </>
              )}
            </div>
          </div>
        )}
      </DialogContent>
    </Dialog>
  );
}
