"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { MoreHorizontal, Plus } from "lucide-react";
import { useSearchParams } from "next/navigation";
import { type FormEvent, Suspense, useState } from "react";
import { ActiveBadge, AdminLink, Filter, OnOffBadge, TenantSelect } from "../../../components/admin/bits.tsx";
import { Badge } from "../../../components/ui/badge.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { ConfirmDialog } from "../../../components/ui/confirm-dialog.tsx";
import { CopyButton } from "../../../components/ui/copy-button.tsx";
import { Dialog, DialogClose, DialogContent, DialogTrigger } from "../../../components/ui/dialog.tsx";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from "../../../components/ui/dropdown-menu.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { Field } from "../../../components/ui/field.tsx";
import { Input, NativeSelect } from "../../../components/ui/input.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { Pager, useCursorPages } from "../../../components/ui/pager.tsx";
import { RelativeTime } from "../../../components/ui/relative-time.tsx";
import { DataTable } from "../../../components/ui/table.tsx";
import { authClient } from "../../../lib/auth-client.ts";
import { useTRPC } from "../../../lib/trpc-client.tsx";

type UserRow = { id: string; email: string; role: string; banned: boolean | null };

/** A password shown once, to hand over; it is stored only hashed. */
function PasswordOnce({ email, password, onClose }: { email: string; password: string; onClose: () => void }) {
  return (
    <Dialog open onOpenChange={(open) => !open && onClose()}>
      <DialogContent
        size="sm"
        title="Password for the account"
        description={`Give this password to ${email} over a safe channel. It is not shown again; they can change it under Account.`}
        footer={
          <DialogClose asChild>
            <Button>Done</Button>
          </DialogClose>
        }
      >
        <div className="flex items-center gap-3">
          <code
            className="rounded bg-slate-100 px-2 py-1 font-mono text-sm dark:bg-slate-800"
            data-testid="new-password"
          >
            {password}
          </code>
          <CopyButton text={password} />
        </div>
      </DialogContent>
    </Dialog>
  );
}

function NewUserDialog({ onCreated }: { onCreated: (email: string, password: string | null) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [role, setRole] = useState<"client" | "admin">("client");
  const [tenantId, setTenantId] = useState("");
  const create = useMutation(trpc.admin.createUser.mutationOptions());
  const fieldErrors = create.error?.data?.fieldErrors ?? {};

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email")).trim();
    const result = await create
      .mutateAsync({
        email,
        name: String(form.get("name")).trim(),
        role,
        tenantId: role === "client" ? tenantId || null : null,
      })
      .catch(() => null);
    if (!result) return;
    void queryClient.invalidateQueries({ queryKey: trpc.admin.users.queryKey() });
    setOpen(false);
    create.reset();
    onCreated(email, result.password);
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) create.reset();
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <Plus aria-hidden /> New user
        </Button>
      </DialogTrigger>
      <DialogContent
        title="New user"
        description="A password is generated and shown once."
        footer={
          <>
            <DialogClose asChild>
              <Button variant="secondary">Cancel</Button>
            </DialogClose>
            <Button type="submit" form="new-user" pending={create.isPending}>
              Create user
            </Button>
          </>
        }
      >
        <form id="new-user" onSubmit={submit} className="space-y-4" noValidate>
          <Field label="Email" error={fieldErrors.email} required>
            <Input name="email" type="email" autoComplete="off" autoFocus />
          </Field>
          <Field label="Name" error={fieldErrors.name} required>
            <Input name="name" autoComplete="off" />
          </Field>
          <Field label="Role">
            <NativeSelect value={role} onChange={(event) => setRole(event.target.value as "client" | "admin")}>
              <option value="client">Client user (one tenant)</option>
              <option value="admin">Provider admin (all tenants)</option>
            </NativeSelect>
          </Field>
          {role === "client" && (
            <Field label="Tenant" error={fieldErrors.tenantId} required>
              <TenantSelect value={tenantId} onChange={setTenantId} />
            </Field>
          )}
          {create.error && !create.error.data?.fieldErrors && (
            <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
              {create.error.message}
            </p>
          )}
        </form>
      </DialogContent>
    </Dialog>
  );
}

function UsersList() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const params = useSearchParams();
  const [tenantId, setTenantId] = useState(params.get("tenantId") ?? "");
  const [search, setSearch] = useState("");
  const filters = { ...(tenantId ? { tenantId } : {}), ...(search ? { search } : {}) };
  const pages = useCursorPages(JSON.stringify(filters));
  const users = useQuery(trpc.admin.users.queryOptions({ ...filters, limit: 50, cursor: pages.cursor }));
  const [shown, setShown] = useState<{ email: string; password: string } | null>(null);
  const [action, setAction] = useState<{ kind: "reset" | "disable" | "enable" | "impersonate"; user: UserRow } | null>(
    null,
  );
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.admin.users.queryKey() });
  const resetPassword = useMutation(trpc.admin.setUserPassword.mutationOptions());
  const setDisabled = useMutation(trpc.admin.setUserDisabled.mutationOptions({ onSuccess: refresh }));

  async function confirm() {
    if (!action) return;
    const { kind, user } = action;
    if (kind === "reset") {
      const result = await resetPassword.mutateAsync({ userId: user.id });
      if (result.password) setShown({ email: user.email, password: result.password });
    } else if (kind === "impersonate") {
      const result = await authClient.admin.impersonateUser({ userId: user.id });
      if (result.error) throw new Error(result.error.message ?? "could not start viewing as this user");
      window.location.assign("/dashboard");
    } else {
      await setDisabled.mutateAsync({ userId: user.id, disabled: kind === "disable" });
    }
  }

  const texts = {
    reset: {
      title: "Reset the password?",
      description: "A new password is generated and shown once; the user's sessions end.",
      label: "Reset password",
    },
    disable: {
      title: "Disable this user?",
      description: "They are signed out and cannot sign in until enabled again. Nothing is deleted.",
      label: "Disable user",
    },
    enable: { title: "Enable this user?", description: "They can sign in again.", label: "Enable user" },
    impersonate: {
      title: "View the portal as this user?",
      description:
        "You see and act exactly as they do, for at most an hour, until you stop. This is recorded in the audit log.",
      label: "View as client",
    },
  } as const;

  return (
    <>
      <PageHeader
        title="Users"
        description="Provider admins and the tenants' users."
        actions={<NewUserDialog onCreated={(email, password) => password && setShown({ email, password })} />}
      />
      <div className="flex flex-wrap items-end gap-3">
        <Filter label="Tenant" id="users-tenant">
          <TenantSelect id="users-tenant" value={tenantId} onChange={setTenantId} />
        </Filter>
        <Filter label="Email or name" id="users-search">
          <Input id="users-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
        </Filter>
      </div>
      <ErrorState error={users.error} onRetry={users.refetch} what="The user list" />
      <DataTable
        label="Users"
        rows={users.data?.users}
        rowKey={(user) => user.id}
        rowProps={(user) => ({ "data-email": user.email })}
        skeletonRows={4}
        columns={[
          { key: "email", header: "Email", cell: (user) => user.email },
          { key: "name", header: "Name", cell: (user) => user.name },
          {
            key: "role",
            header: "Role",
            cell: (user) => (user.role === "admin" ? <Badge tone="blue">Admin</Badge> : "Client"),
          },
          {
            key: "tenant",
            header: "Tenant",
            cell: (user) =>
              user.tenantId && user.tenant ? (
                <AdminLink href={`/admin/tenants/${user.tenantId}`}>{user.tenant.name}</AdminLink>
              ) : (
                "—"
              ),
          },
          { key: "twoFactor", header: "Two-factor", cell: (user) => <OnOffBadge on={user.twoFactorEnabled} /> },
          { key: "status", header: "Status", cell: (user) => <ActiveBadge disabled={user.banned} /> },
          { key: "created", header: "Created", cell: (user) => <RelativeTime date={user.createdAt} /> },
          {
            key: "actions",
            header: <span className="sr-only">Actions</span>,
            className: "text-right",
            cell: (user) => (
              <DropdownMenu>
                <DropdownMenuTrigger asChild>
                  <Button variant="ghost" size="icon" aria-label={`Actions for ${user.email}`}>
                    <MoreHorizontal aria-hidden />
                  </Button>
                </DropdownMenuTrigger>
                <DropdownMenuContent align="end">
                  {user.role === "client" && !user.banned && (
                    <DropdownMenuItem onSelect={() => setAction({ kind: "impersonate", user })}>
                      View as client
                    </DropdownMenuItem>
                  )}
                  <DropdownMenuItem onSelect={() => setAction({ kind: "reset", user })}>
                    Reset password
                  </DropdownMenuItem>
                  <DropdownMenuItem onSelect={() => setAction({ kind: user.banned ? "enable" : "disable", user })}>
                    {user.banned ? "Enable" : "Disable"}
                  </DropdownMenuItem>
                </DropdownMenuContent>
              </DropdownMenu>
            ),
          },
        ]}
      />
      <Pager pages={pages} nextCursor={users.data?.nextCursor} label="User pages" />
      <ConfirmDialog
        open={action !== null}
        onOpenChange={(open) => !open && setAction(null)}
        title={action ? texts[action.kind].title : ""}
        description={action ? `${action.user.email}: ${texts[action.kind].description}` : undefined}
        confirmLabel={action ? texts[action.kind].label : ""}
        destructive={action?.kind === "disable"}
        onConfirm={confirm}
      />
      {shown && <PasswordOnce email={shown.email} password={shown.password} onClose={() => setShown(null)} />}
    </>
  );
}

export default function AdminUsersPage() {
  return (
    <Suspense>
      <UsersList />
    </Suspense>
  );
}
