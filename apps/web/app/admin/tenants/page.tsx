"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Building2, Plus } from "lucide-react";
import { type FormEvent, useState } from "react";
import { ActiveBadge, AdminLink } from "../../../components/admin/bits.tsx";
import { Button } from "../../../components/ui/button.tsx";
import { ConfirmDialog } from "../../../components/ui/confirm-dialog.tsx";
import { Dialog, DialogClose, DialogContent, DialogTrigger } from "../../../components/ui/dialog.tsx";
import { EmptyState } from "../../../components/ui/empty-state.tsx";
import { ErrorState } from "../../../components/ui/error-state.tsx";
import { Field } from "../../../components/ui/field.tsx";
import { Input } from "../../../components/ui/input.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";
import { RelativeTime } from "../../../components/ui/relative-time.tsx";
import { DataTable } from "../../../components/ui/table.tsx";
import { useTRPC } from "../../../lib/trpc-client.tsx";

function slugOf(name: string): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
}

function NewTenantDialog() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [slug, setSlug] = useState<string | null>(null);
  const create = useMutation(
    trpc.admin.createTenant.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.admin.tenants.queryKey() });
        setOpen(false);
        setName("");
        setSlug(null);
      },
    }),
  );
  const fieldErrors = create.error?.data?.fieldErrors ?? {};
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    create.mutate({ name, slug: slug ?? slugOf(name) });
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
          <Plus aria-hidden /> New tenant
        </Button>
      </DialogTrigger>
      <DialogContent
        title="New tenant"
        description="A customer organization: its own users, agents and jobs."
        footer={
          <>
            <DialogClose asChild>
              <Button variant="secondary">Cancel</Button>
            </DialogClose>
            <Button type="submit" form="new-tenant" pending={create.isPending}>
              Create tenant
            </Button>
          </>
        }
      >
        <form id="new-tenant" onSubmit={submit} className="space-y-4" noValidate>
          <Field label="Name" error={fieldErrors.name} required>
            <Input value={name} onChange={(event) => setName(event.target.value)} autoFocus />
          </Field>
          <Field label="Slug" description="Lower-case letters, digits and dashes; unique." error={fieldErrors.slug}>
            <Input value={slug ?? slugOf(name)} onChange={(event) => setSlug(event.target.value)} />
          </Field>
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

export default function TenantsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tenants = useQuery(trpc.admin.tenants.queryOptions());
  const [toggling, setToggling] = useState<{ id: string; name: string; disable: boolean } | null>(null);
  const setDisabled = useMutation(
    trpc.admin.setTenantDisabled.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.admin.tenants.queryKey() }),
    }),
  );

  return (
    <>
      <PageHeader
        title="Tenants"
        description="Customer organizations. Disabling one signs its users out and pauses its schedules."
        actions={<NewTenantDialog />}
      />
      <ErrorState error={tenants.error} onRetry={tenants.refetch} what="The tenant list" />
      <DataTable
        label="Tenants"
        rows={tenants.data}
        rowKey={(tenant) => tenant.id}
        skeletonRows={3}
        emptyView={
          <EmptyState icon={Building2} title="No tenants yet" action={<NewTenantDialog />}>
            Create a tenant for each customer, then its users.
          </EmptyState>
        }
        columns={[
          {
            key: "name",
            header: "Name",
            cell: (tenant) => <AdminLink href={`/admin/tenants/${tenant.id}`}>{tenant.name}</AdminLink>,
          },
          { key: "slug", header: "Slug", className: "font-mono text-xs", cell: (tenant) => tenant.slug },
          { key: "users", header: "Users", cell: (tenant) => tenant._count.users },
          { key: "agents", header: "Agents", cell: (tenant) => tenant._count.agents },
          { key: "jobs", header: "Jobs", cell: (tenant) => tenant._count.jobs },
          { key: "created", header: "Created", cell: (tenant) => <RelativeTime date={tenant.createdAt} /> },
          {
            key: "status",
            header: "Status",
            cell: (tenant) => <ActiveBadge disabled={tenant.disabledAt} />,
          },
          {
            key: "actions",
            header: <span className="sr-only">Actions</span>,
            className: "text-right",
            cell: (tenant) => (
              <Button
                size="sm"
                variant={tenant.disabledAt ? "secondary" : "ghost"}
                onClick={() => setToggling({ id: tenant.id, name: tenant.name, disable: !tenant.disabledAt })}
              >
                {tenant.disabledAt ? "Enable" : "Disable"}
                <span className="sr-only"> {tenant.name}</span>
              </Button>
            ),
          },
        ]}
      />
      <ConfirmDialog
        open={toggling !== null}
        onOpenChange={(open) => !open && setToggling(null)}
        title={toggling?.disable ? `Disable ${toggling.name}?` : `Enable ${toggling?.name ?? ""}?`}
        description={
          toggling?.disable
            ? "Its users are signed out and cannot sign in, and its jobs are not scheduled until you enable it again. Nothing is deleted."
            : "Its users can sign in again and its schedules resume."
        }
        confirmLabel={toggling?.disable ? "Disable tenant" : "Enable tenant"}
        confirmText={toggling?.disable ? toggling.name : undefined}
        destructive={toggling?.disable ?? false}
        onConfirm={async () => {
          if (toggling) await setDisabled.mutateAsync({ tenantId: toggling.id, disabled: toggling.disable });
        }}
      />
    </>
  );
}
