"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Monitor, MoreHorizontal } from "lucide-react";
import { type FormEvent, useCallback, useState } from "react";
import { Button } from "../../../components/ui/button.tsx";
import { Card } from "../../../components/ui/card.tsx";
import { ConfirmDialog } from "../../../components/ui/confirm-dialog.tsx";
import { Dialog, DialogContent } from "../../../components/ui/dialog.tsx";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from "../../../components/ui/dropdown-menu.tsx";
import { EmptyState } from "../../../components/ui/empty-state.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { Field } from "../../../components/ui/field.tsx";
import { Input } from "../../../components/ui/input.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../components/ui/relative-time.tsx";
import { SkeletonRows } from "../../../components/ui/skeleton.tsx";
import { StatusBadge } from "../../../components/ui/status-badge.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../../../components/ui/table.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";
import { EnrollDialog } from "./enroll-dialog.tsx";

type Agent = { id: string; name: string; hostname: string };

function RenameDialog({ agent, onClose }: { agent: Agent | null; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const rename = useMutation(
    trpc.agents.rename.mutationOptions({
      onSuccess: () => {
        queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() });
        onClose();
      },
    }),
  );
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!agent) return;
    rename.mutate({ agentId: agent.id, name: String(new FormData(event.currentTarget).get("name") ?? "") });
  }
  const fieldError = (rename.error?.data as { fieldErrors?: Record<string, string> } | undefined)?.fieldErrors?.name;
  return (
    <Dialog open={agent !== null} onOpenChange={(open) => !open && onClose()}>
      {agent && (
        <DialogContent
          size="sm"
          title={`Rename ${agent.name}`}
          description={`The name shown in the portal; the machine stays ${agent.hostname}.`}
          footer={
            <>
              <Button variant="secondary" onClick={onClose}>
                Cancel
              </Button>
              <Button type="submit" form="rename-form" pending={rename.isPending}>
                Rename
              </Button>
            </>
          }
        >
          <form id="rename-form" onSubmit={submit}>
            <Field label="Name" error={fieldError ?? (rename.error && !fieldError ? rename.error.message : null)}>
              <Input name="name" defaultValue={agent.name} required maxLength={255} autoComplete="off" />
            </Field>
          </form>
        </DialogContent>
      )}
    </Dialog>
  );
}

/** The tenant's machines: enroll, see who is online (from the last poll), rename, revoke. */
export default function AgentsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const agents = useQuery({ ...trpc.agents.list.queryOptions(), refetchInterval: 10_000 });
  const revoke = useMutation(trpc.agents.revoke.mutationOptions());
  const [renaming, setRenaming] = useState<Agent | null>(null);
  const [revoking, setRevoking] = useState<Agent | null>(null);
  const refresh = useCallback(
    () => queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() }),
    [queryClient, trpc],
  );

  return (
    <div className="space-y-6">
      <PageHeader
        title="Agents"
        description="Machines with the e3 agent. Online means it polled in the last 2 minutes, stale within 15 minutes."
        actions={<EnrollDialog onEnrolled={refresh} />}
      />
      <ErrorState error={agents.error} onRetry={agents.refetch} what="The agent list" />
      {agents.data?.length === 0 ? (
        <EmptyState icon={Monitor} title="No machines yet">
          Enroll the first machine: the portal shows the command to run on it, and the machine appears here as soon as
          its agent checks in.
        </EmptyState>
      ) : (
        <Card>
          <Table label="Agents">
            <THead>
              <tr>
                <Th>Name</Th>
                <Th>Status</Th>
                <Th>Last seen</Th>
                <Th>Version</Th>
                <Th>System</Th>
                <Th>
                  <span className="sr-only">Actions</span>
                </Th>
              </tr>
            </THead>
            <TBody>
              {agents.isPending ? (
                <SkeletonRows columns={6} rows={3} />
              ) : (
                agents.data?.map((agent) => (
                  <Tr key={agent.id} data-testid={`agent-${agent.id}`}>
                    <Td>
                      <div className="font-medium">{agent.name}</div>
                      <div className="text-xs text-slate-600 dark:text-slate-400">{agent.hostname}</div>
                    </Td>
                    <Td>
                      <StatusBadge status={agent.connectivity} variant="dot" />
                    </Td>
                    <Td>
                      <RelativeTime date={agent.lastSeenAt} />
                    </Td>
                    <Td className="font-mono text-xs">{agent.version ?? "—"}</Td>
                    <Td className="text-sm">{[agent.os, agent.arch].filter(Boolean).join(" / ") || "—"}</Td>
                    <Td className="text-right">
                      {agent.status === "active" && (
                        <DropdownMenu>
                          <DropdownMenuTrigger asChild>
                            <Button variant="ghost" size="icon" aria-label={`Actions for ${agent.name}`}>
                              <MoreHorizontal aria-hidden />
                            </Button>
                          </DropdownMenuTrigger>
                          <DropdownMenuContent align="end">
                            <DropdownMenuItem onSelect={() => setRenaming(agent)}>Rename…</DropdownMenuItem>
                            <DropdownMenuItem
                              onSelect={() => setRevoking(agent)}
                              className="text-red-700 dark:text-red-400"
                            >
                              Revoke…
                            </DropdownMenuItem>
                          </DropdownMenuContent>
                        </DropdownMenu>
                      )}
                    </Td>
                  </Tr>
                ))
              )}
            </TBody>
          </Table>
        </Card>
      )}
      <RenameDialog agent={renaming} onClose={() => setRenaming(null)} />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title={`Revoke ${revoking?.name ?? "agent"}?`}
        description="The agent's key stops working at once: it can no longer fetch runs or report. Its jobs and snapshots stay; enroll the machine again to resume."
        confirmLabel="Revoke agent"
        confirmText={revoking?.name}
        onConfirm={async () => {
          if (!revoking) return;
          await revoke.mutateAsync({ agentId: revoking.id });
          await refresh();
        }}
      />
    </div>
  );
}
