"use client";

import { CheckCircle2, Plus, RefreshCw, Search, XCircle } from "lucide-react";
import { useMemo, useState } from "react";
import { Button } from "../ui/button.tsx";
import { Checkbox } from "../ui/checkbox.tsx";
import { Field } from "../ui/field.tsx";
import { Input, NativeSelect } from "../ui/input.tsx";
import { RadioGroup, RadioItem } from "../ui/radio-group.tsx";
import type { StepProps } from "./step-props.ts";

export type AgentOption = { id: string; name: string; hostname: string; state: string };

type Probe = { endpoint?: string; region?: string; accessKeyId?: string; secretAccessKey?: string; jobId?: string };
export type TestResult =
  | { ok: true; bucketExists: boolean; repositoryExists: boolean; message: string }
  | { ok: false; code: string; message: string };

/** The S3 calls the destination step makes (tRPC mutations in the wizard; plain functions in tests). */
export type S3Actions = {
  test: (input: Probe & { bucket: string; prefix?: string }) => Promise<TestResult>;
  buckets: (input: Probe) => Promise<{ name: string }[]>;
  createBucket: (input: Probe & { bucket: string }) => Promise<{ created: boolean; bucket: string }>;
};

function BucketPicker({
  probe,
  actions,
  onPick,
}: {
  probe: Probe;
  actions: S3Actions;
  onPick: (name: string) => void;
}) {
  const [buckets, setBuckets] = useState<{ name: string }[] | null>(null);
  const [filter, setFilter] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const shown = useMemo(
    () => (buckets ?? []).filter((bucket) => bucket.name.includes(filter.trim().toLowerCase())),
    [buckets, filter],
  );
  async function load() {
    setPending(true);
    setError(null);
    try {
      setBuckets(await actions.buckets(probe));
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setPending(false);
    }
  }
  return (
    <div className="space-y-2">
      <Button variant="secondary" size="sm" onClick={load} pending={pending}>
        <RefreshCw aria-hidden /> {buckets ? "Reload buckets" : "List my buckets"}
      </Button>
      {error && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
      {buckets && (
        <div className="space-y-2 rounded-md border border-slate-200 p-2 dark:border-slate-800">
          <div className="relative">
            <Search className="pointer-events-none absolute top-3 left-2.5 size-4 text-slate-500" aria-hidden />
            <Input
              aria-label="Search buckets"
              placeholder="Search buckets"
              value={filter}
              onChange={(event) => setFilter(event.target.value)}
              className="pl-8"
            />
          </div>
          <ul className="max-h-48 space-y-1 overflow-y-auto" aria-label="Buckets">
            {shown.length === 0 && (
              <li className="px-2 py-1 text-sm text-slate-600 dark:text-slate-400">No bucket matches.</li>
            )}
            {shown.map((bucket) => (
              <li key={bucket.name}>
                <button
                  type="button"
                  className="w-full rounded px-2 py-1 text-left font-mono text-sm hover:bg-slate-100 dark:hover:bg-slate-800"
                  onClick={() => onPick(bucket.name)}
                >
                  {bucket.name}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/** Step 1: what kind of job, on which machine, to where. */
export function BasicsStep({
  draft,
  update,
  errors,
  agents,
  s3,
  jobId,
  hasStoredKeys,
  editing,
}: StepProps & {
  agents: AgentOption[];
  s3: S3Actions;
  jobId?: string;
  hasStoredKeys?: boolean;
  editing?: boolean;
}) {
  const destination = draft.destination;
  const [test, setTest] = useState<TestResult | null>(null);
  const [testing, setTesting] = useState(false);
  const [creating, setCreating] = useState<string | null>(null);
  const probe: Probe = {
    ...(destination.endpoint.trim() ? { endpoint: destination.endpoint.trim() } : {}),
    ...(destination.region.trim() ? { region: destination.region.trim() } : {}),
    ...(destination.accessKeyId.trim() ? { accessKeyId: destination.accessKeyId.trim() } : {}),
    ...(destination.secretAccessKey.trim() ? { secretAccessKey: destination.secretAccessKey.trim() } : {}),
    ...(jobId ? { jobId } : {}),
  };

  async function runTest() {
    setTesting(true);
    try {
      setTest(
        await actions(() =>
          s3.test({ ...probe, bucket: destination.bucket.trim(), prefix: destination.prefix.trim() || undefined }),
        ),
      );
    } finally {
      setTesting(false);
    }
  }
  async function actions<T>(call: () => Promise<T>): Promise<T | TestResult> {
    try {
      return await call();
    } catch (failure) {
      return { ok: false, code: "ERROR", message: (failure as Error).message };
    }
  }
  async function createBucket() {
    setCreating("pending");
    try {
      const result = await s3.createBucket({ ...probe, bucket: destination.bucket.trim() });
      setCreating(result.created ? `Created ${result.bucket}.` : `${result.bucket} exists already; it will be used.`);
    } catch (failure) {
      setCreating(`Could not create it: ${(failure as Error).message}`);
    }
  }

  return (
    <div className="space-y-6">
      <Field label="Job name" error={errors.name} required>
        <Input
          name="name"
          value={draft.name}
          onChange={(event) =>
            update((d) => {
              d.name = event.target.value;
            })
          }
          placeholder="Documents of the office PC"
        />
      </Field>

      <fieldset className="space-y-2">
        <legend className="text-sm font-medium">Mode</legend>
        <RadioGroup
          aria-label="Mode"
          value={draft.engine}
          onValueChange={(value) =>
            update((d) => {
              d.engine = value as "backup" | "sync";
            })
          }
          disabled={editing}
        >
          <RadioItem
            value="backup"
            label="Backup (versioned snapshots)"
            description="Deduplicated, compressed and encrypted snapshots in restic's format. Every run is a point in time you can restore from; a file deleted on the machine stays in older snapshots until retention removes them."
          />
          <RadioItem
            value="sync"
            label="Sync (a plain mirror)"
            description="The folder copied file by file to the destination (rclone-compatible), readable there without e3. No history: the destination holds the latest state only."
          />
        </RadioGroup>
        {editing && (
          <p className="text-sm text-slate-600 dark:text-slate-400">The mode of an existing job cannot change.</p>
        )}
      </fieldset>

      {draft.engine === "sync" && (
        <fieldset className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3 dark:border-amber-800 dark:bg-amber-950/30">
          <legend className="px-1 text-sm font-medium">What happens to deleted files</legend>
          <RadioGroup
            aria-label="What happens to deleted files"
            value={draft.policy.syncMode}
            onValueChange={(value) =>
              update((d) => {
                d.policy.syncMode = value as "copy" | "sync";
              })
            }
          >
            <RadioItem
              value="copy"
              label="Copy: never delete at the destination"
              description="New and changed files are copied; a file deleted on the machine stays at the destination."
            />
            <RadioItem
              value="sync"
              label="Mirror: delete at the destination too"
              description="The destination becomes an exact mirror: a file deleted (or excluded) on the machine is deleted at the destination on the next run, and cannot be restored from there."
            />
          </RadioGroup>
        </fieldset>
      )}

      <Field
        label="Agent"
        error={errors.agentId}
        required
        description={agents.length === 0 ? "No agent yet: enroll a machine on the Agents page first." : undefined}
      >
        <NativeSelect
          name="agentId"
          value={draft.agentId}
          onChange={(event) =>
            update((d) => {
              d.agentId = event.target.value;
            })
          }
        >
          <option value="">Choose the machine to back up…</option>
          {agents.map((agent) => (
            <option key={agent.id} value={agent.id}>
              {agent.name} ({agent.hostname}, {agent.state})
            </option>
          ))}
        </NativeSelect>
      </Field>

      <fieldset className="space-y-3">
        <legend className="text-sm font-medium">Destination</legend>
        <RadioGroup
          aria-label="Destination"
          value={destination.type}
          onValueChange={(value) =>
            update((d) => {
              d.destination.type = value as "s3" | "local";
            })
          }
          className="sm:grid-cols-2"
        >
          <RadioItem value="s3" label="S3 bucket" description="Any S3-compatible storage." />
          <RadioItem
            value="local"
            label="Folder on the agent"
            description="A local disk, USB drive or network share."
          />
        </RadioGroup>
      </fieldset>

      {destination.type === "local" ? (
        <Field
          label="Destination folder (on the agent)"
          error={errors["destination.path"]}
          required
          description="Created on the first run if it does not exist."
        >
          <Input
            name="destination.path"
            value={destination.path}
            onChange={(event) =>
              update((d) => {
                d.destination.path = event.target.value;
              })
            }
            placeholder="/mnt/backup/documents or D:\Backups"
          />
        </Field>
      ) : (
        <div className="grid gap-4 sm:grid-cols-2">
          <Field
            label="Endpoint"
            error={errors["destination.endpoint"]}
            description="Leave empty for your provider's S3 endpoint."
          >
            <Input
              name="destination.endpoint"
              value={destination.endpoint}
              onChange={(event) =>
                update((d) => {
                  d.destination.endpoint = event.target.value;
                })
              }
              placeholder="https://s3.example.com"
              inputMode="url"
            />
          </Field>
          <Field label="Region" error={errors["destination.region"]} description="Optional; us-east-1 by default.">
            <Input
              name="destination.region"
              value={destination.region}
              onChange={(event) =>
                update((d) => {
                  d.destination.region = event.target.value;
                })
              }
            />
          </Field>
          <Field
            label="Access key id"
            error={errors["destination.accessKeyId"]}
            required={!hasStoredKeys}
            description={hasStoredKeys ? "Stored; leave empty to keep it." : undefined}
          >
            <Input
              name="destination.accessKeyId"
              value={destination.accessKeyId}
              autoComplete="off"
              onChange={(event) =>
                update((d) => {
                  d.destination.accessKeyId = event.target.value;
                })
              }
            />
          </Field>
          <Field
            label="Secret access key"
            error={errors["destination.secretAccessKey"]}
            required={!hasStoredKeys}
            description={hasStoredKeys ? "Stored; leave empty to keep it." : "Stored encrypted; never shown again."}
          >
            <Input
              name="destination.secretAccessKey"
              type="password"
              autoComplete="new-password"
              value={destination.secretAccessKey}
              onChange={(event) =>
                update((d) => {
                  d.destination.secretAccessKey = event.target.value;
                })
              }
            />
          </Field>
          <div className="space-y-2">
            <Field label="Bucket" error={errors["destination.bucket"]} required>
              <Input
                name="destination.bucket"
                value={destination.bucket}
                onChange={(event) =>
                  update((d) => {
                    d.destination.bucket = event.target.value;
                  })
                }
                placeholder="acme-backups"
              />
            </Field>
            <BucketPicker
              probe={probe}
              actions={s3}
              onPick={(name) =>
                update((d) => {
                  d.destination.bucket = name;
                })
              }
            />
          </div>
          <Field
            label="Folder in the bucket (prefix)"
            error={errors["destination.prefix"]}
            description="Lets several jobs share one bucket."
          >
            <Input
              name="destination.prefix"
              value={destination.prefix}
              onChange={(event) =>
                update((d) => {
                  d.destination.prefix = event.target.value;
                })
              }
              placeholder="office-pc"
            />
          </Field>
          <div className="space-y-3 sm:col-span-2">
            <Checkbox
              label="Create the bucket on the first run if it does not exist"
              checked={destination.bucketAutoCreate}
              onCheckedChange={(checked) =>
                update((d) => {
                  d.destination.bucketAutoCreate = checked === true;
                })
              }
            />
            <div className="flex flex-wrap gap-2">
              <Button variant="secondary" onClick={runTest} pending={testing} disabled={!destination.bucket.trim()}>
                Test connection
              </Button>
              <Button
                variant="secondary"
                onClick={createBucket}
                pending={creating === "pending"}
                disabled={!destination.bucket.trim()}
              >
                <Plus aria-hidden /> Create bucket
              </Button>
            </div>
            <div aria-live="polite" className="space-y-1 text-sm">
              {test && (
                <p
                  data-testid="connection-result"
                  className={
                    test.ok
                      ? "flex items-start gap-1.5 text-emerald-800 dark:text-emerald-300"
                      : "flex items-start gap-1.5 text-red-700 dark:text-red-400"
                  }
                >
                  {test.ok ? (
                    <CheckCircle2 className="mt-0.5 size-4 shrink-0" aria-hidden />
                  ) : (
                    <XCircle className="mt-0.5 size-4 shrink-0" aria-hidden />
                  )}
                  {test.ok ? test.message : `${test.message}${test.code !== "ERROR" ? ` (${test.code})` : ""}`}
                </p>
              )}
              {creating && creating !== "pending" && <p>{creating}</p>}
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
