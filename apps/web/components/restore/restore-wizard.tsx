"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import { Search } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { useAgentBrowse } from "../../lib/agent-browse.ts";
import { formatAbsolute, formatBytes, formatCount } from "../../lib/format.ts";
import { useTRPC, useTRPCClient } from "../../lib/trpc-client.tsx";
import { WizardFrame } from "../job-wizard/wizard-frame.tsx";
import { Badge } from "../ui/badge.tsx";
import { Button } from "../ui/button.tsx";
import { Card, CardBody, CardHeader } from "../ui/card.tsx";
import { ConfirmDialog } from "../ui/confirm-dialog.tsx";
import { EmptyState } from "../ui/empty-state.tsx";
import { ErrorState } from "../ui/error-state.tsx";
import { Field } from "../ui/field.tsx";
import { Input, NativeSelect } from "../ui/input.tsx";
import { RadioGroup, RadioItem } from "../ui/radio-group.tsx";
import { RelativeTime } from "../ui/relative-time.tsx";
import { SkeletonRows } from "../ui/skeleton.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../ui/table.tsx";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "../ui/tabs.tsx";
import { SnapshotTree, selectionSummary, type TreeSelection } from "./snapshot-tree.tsx";

const steps = [
  { id: "snapshot", title: "Snapshot" },
  { id: "files", title: "Files" },
  { id: "destination", title: "Destination" },
] as const;

type Chosen = { snapshotId: string; time: Date };

/** Search a name across the job's snapshots, then pick one version of a match from its timeline. */
function FileSearch({ jobId, onPick }: { jobId: string; onPick: (chosen: Chosen, path: string) => void }) {
  const [typed, setTyped] = useState("");
  const [pattern, setPattern] = useState<string | null>(null);
  const [path, setPath] = useState<string | null>(null);
  const search = useAgentBrowse(pattern ? { kind: "search", jobId, pattern, distinctPaths: true } : null);
  const versions = useAgentBrowse(path ? { kind: "versions", jobId, path } : null);
  // Not a <form>: the search sits inside the wizard's form, and Enter must search, not go to the next step.
  function submit() {
    setPath(null);
    const trimmed = typed.trim();
    // A plain word finds names containing it, as people expect from a search box.
    setPattern(trimmed ? (/[*?[]/.test(trimmed) ? trimmed : `*${trimmed}*`) : null);
  }
  return (
    <div className="space-y-4">
      <search className="flex items-end gap-2">
        <Field label="File or folder name" className="flex-1" description="A word, or a pattern like *.docx">
          <Input
            name="search"
            value={typed}
            onChange={(event) => setTyped(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Enter") {
                event.preventDefault();
                submit();
              }
            }}
          />
        </Field>
        <Button variant="secondary" onClick={submit}>
          <Search aria-hidden /> Search
        </Button>
      </search>
      {search.isFetching && <p className="text-sm text-slate-600 dark:text-slate-400">Searching the snapshots…</p>}
      {search.error && <ErrorState error={search.error} onRetry={() => search.refetch()} what="The search" />}
      {search.data && (
        <ul className="space-y-1" aria-label="Matches">
          {search.data.matches.length === 0 && (
            <li className="text-sm text-slate-600 dark:text-slate-400">Nothing matches {search.data.pattern}.</li>
          )}
          {search.data.matches.map((match) => (
            <li key={match.path}>
              <button
                type="button"
                aria-pressed={path === match.path}
                className="w-full rounded px-2 py-1 text-left font-mono text-sm hover:bg-slate-100 aria-pressed:bg-sky-100 dark:hover:bg-slate-800 dark:aria-pressed:bg-sky-900/40"
                onClick={() => setPath(match.path)}
              >
                {match.path} <span className="text-slate-600 dark:text-slate-400">({match.type})</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {path && (
        <section aria-labelledby="versions-heading" className="space-y-2">
          <h3 id="versions-heading" className="text-sm font-semibold">
            Versions of <span className="font-mono">{path}</span>
          </h3>
          {versions.isFetching && <p className="text-sm">Looking through the snapshots…</p>}
          {versions.error && (
            <ErrorState error={versions.error} onRetry={() => versions.refetch()} what="The versions" />
          )}
          {versions.data && (
            <ol className="space-y-1 border-l-2 border-slate-300 pl-4 dark:border-slate-700" aria-label="Timeline">
              {versions.data.versions.map((version) => (
                <li key={version.snapshotId} className="flex flex-wrap items-center gap-2 text-sm">
                  <span>{formatAbsolute(version.snapshotTime)}</span>
                  <Badge tone={version.status === "deleted" ? "red" : version.changed ? "blue" : "grey"}>
                    {version.status}
                  </Badge>
                  {version.entry && <span>{formatBytes(version.entry.size)}</span>}
                  {version.entry && (
                    <Button
                      size="sm"
                      variant="secondary"
                      onClick={() =>
                        onPick({ snapshotId: version.snapshotId, time: new Date(version.snapshotTime) }, path)
                      }
                    >
                      Restore this version
                    </Button>
                  )}
                </li>
              ))}
            </ol>
          )}
        </section>
      )}
    </div>
  );
}

/** The restore wizard: a snapshot (or a file's version), what to restore, and where; then the live view. */
export function RestoreWizard({ initialJobId }: { initialJobId?: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const router = useRouter();
  const jobs = useQuery(trpc.jobs.list.queryOptions());
  const agents = useQuery(trpc.agents.list.queryOptions());
  const backupJobs = (jobs.data ?? []).filter((job) => job.engine === "backup");
  const [jobId, setJobId] = useState(initialJobId ?? "");
  const job = backupJobs.find((candidate) => candidate.id === jobId);
  const snapshots = useQuery({ ...trpc.snapshots.list.queryOptions({ jobId }), enabled: Boolean(job) });
  const [step, setStep] = useState(0);
  const [chosen, setChosen] = useState<Chosen | null>(null);
  const [selection, setSelection] = useState<TreeSelection>({ paths: new Set(), sizes: new Map() });
  const [root, setRoot] = useState("/");
  const [where, setWhere] = useState<"original" | "folder">("folder");
  const [targetPath, setTargetPath] = useState("");
  const [targetAgentId, setTargetAgentId] = useState("");
  const [overwrite, setOverwrite] = useState<"if-changed" | "always" | "never">("if-changed");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [confirming, setConfirming] = useState(false);

  const start = useMutation({
    mutationFn: () =>
      client.restore.start.mutate({
        jobId,
        snapshotId: chosen!.snapshotId,
        paths: [...selection.paths],
        targetPath: where === "original" ? null : targetPath.trim(),
        targetAgentId: targetAgentId && targetAgentId !== job?.agentId ? targetAgentId : null,
        overwrite,
      }),
    onSuccess: ({ restoreRunId }) => router.push(`/runs/${restoreRunId}`),
  });

  const liveData = where === "original" || overwrite === "always";
  function next(): number {
    const problems: Record<string, string> = {};
    if (step === 0) {
      if (!job) problems.jobId = "choose the job whose backups to restore from";
      else if (!chosen) problems.snapshot = "choose a snapshot (or search for a file and pick a version)";
    }
    if (step === 1 && selection.paths.size === 0) problems.files = "check at least one file or folder";
    if (step === 2 && where === "folder" && !targetPath.trim()) problems.targetPath = "is required";
    setErrors(problems);
    if (Object.keys(problems).length > 0) return Object.keys(problems).length;
    if (step < 2) setStep(step + 1);
    else if (liveData) setConfirming(true);
    else start.mutate();
    return 0;
  }

  const targetAgent = agents.data?.find((agent) => agent.id === (targetAgentId || job?.agentId));
  const suggestion = `/tmp/e3-restore-${new Date().toISOString().slice(0, 10)}`;
  return (
    <Card>
      <CardHeader title={steps[step]!.title} description={`Step ${step + 1} of ${steps.length}`} />
      <CardBody>
        <WizardFrame
          steps={steps}
          current={step}
          onBack={() => {
            setErrors({});
            setStep(Math.max(0, step - 1));
          }}
          onStepClick={(index) => setStep(index)}
          onNext={next}
          nextLabel={step === 2 ? "Start restore" : "Next"}
          pending={start.isPending}
        >
          {step === 0 && (
            <div className="space-y-4">
              {jobs.error && <ErrorState error={jobs.error} onRetry={() => jobs.refetch()} what="The job list" />}
              <Field label="Job" error={errors.jobId}>
                <NativeSelect
                  name="jobId"
                  value={jobId}
                  onChange={(event) => {
                    setJobId(event.target.value);
                    setChosen(null);
                    setSelection({ paths: new Set(), sizes: new Map() });
                  }}
                >
                  <option value="">Choose a backup job…</option>
                  {backupJobs.map((candidate) => (
                    <option key={candidate.id} value={candidate.id}>
                      {candidate.name}
                    </option>
                  ))}
                </NativeSelect>
              </Field>
              {errors.snapshot && (
                <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
                  {errors.snapshot}
                </p>
              )}
              {job && (
                <Tabs defaultValue="snapshots">
                  <TabsList aria-label="How to find what to restore">
                    <TabsTrigger value="snapshots">Pick a snapshot</TabsTrigger>
                    <TabsTrigger value="search">Search for a file</TabsTrigger>
                  </TabsList>
                  <TabsContent value="snapshots">
                    {snapshots.error && (
                      <ErrorState error={snapshots.error} onRetry={() => snapshots.refetch()} what="The snapshots" />
                    )}
                    {snapshots.data?.length === 0 ? (
                      <EmptyState title="No snapshots yet">Run the job once; its snapshots appear here.</EmptyState>
                    ) : (
                      <Table label="Snapshots">
                        <THead>
                          <Tr>
                            <Th>
                              <span className="sr-only">Choose</span>
                            </Th>
                            <Th>Taken</Th>
                            <Th className="text-right">Files</Th>
                            <Th className="text-right">Size</Th>
                            <Th>Id</Th>
                          </Tr>
                        </THead>
                        <TBody>
                          {snapshots.isPending && <SkeletonRows columns={5} rows={3} />}
                          {snapshots.data?.map((snapshot) => (
                            <Tr key={snapshot.snapshotId} data-testid="snapshot-row">
                              <Td>
                                <input
                                  type="radio"
                                  name="snapshot"
                                  aria-label={`Snapshot of ${formatAbsolute(snapshot.time)}`}
                                  checked={chosen?.snapshotId === snapshot.snapshotId}
                                  onChange={() => {
                                    setChosen({ snapshotId: snapshot.snapshotId, time: snapshot.time });
                                    setSelection({ paths: new Set(), sizes: new Map() });
                                  }}
                                  aria-invalid={errors.snapshot ? true : undefined}
                                  className="size-4 accent-sky-700"
                                />
                              </Td>
                              <Td>
                                <RelativeTime date={snapshot.time} />
                              </Td>
                              <Td className="text-right">{formatCount(snapshot.fileCount)}</Td>
                              <Td className="text-right">{formatBytes(snapshot.sizeBytes)}</Td>
                              <Td className="font-mono text-xs">{snapshot.snapshotId.slice(0, 8)}</Td>
                            </Tr>
                          ))}
                        </TBody>
                      </Table>
                    )}
                  </TabsContent>
                  <TabsContent value="search">
                    <FileSearch
                      jobId={job.id}
                      onPick={(version, path) => {
                        setChosen(version);
                        setSelection({ paths: new Set([path]), sizes: new Map() });
                        setRoot(path.slice(0, path.lastIndexOf("/")) || "/");
                        setErrors({});
                        setStep(1);
                      }}
                    />
                  </TabsContent>
                </Tabs>
              )}
            </div>
          )}

          {step === 1 && job && chosen && (
            <div className="space-y-3">
              <p className="text-sm">
                Snapshot of {formatAbsolute(chosen.time)}{" "}
                <span className="font-mono text-xs text-slate-600 dark:text-slate-400">
                  {chosen.snapshotId.slice(0, 8)}
                </span>
              </p>
              <SnapshotTree
                jobId={job.id}
                snapshotId={chosen.snapshotId}
                selection={selection}
                onSelectionChange={setSelection}
                root={root}
                onRootChange={setRoot}
              />
              <p aria-live="polite" className="text-sm font-medium" data-testid="selection-total">
                {selectionSummary(selection)}
              </p>
              {errors.files && (
                <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
                  {errors.files}
                </p>
              )}
            </div>
          )}

          {step === 2 && job && (
            <div className="space-y-6">
              <Field
                label="Restore on"
                description="Any machine of yours can restore this job's backups (the portal holds the key)."
              >
                <NativeSelect
                  name="targetAgentId"
                  value={targetAgentId || job.agentId}
                  onChange={(event) => setTargetAgentId(event.target.value)}
                >
                  {(agents.data ?? [])
                    .filter((agent) => agent.status === "active")
                    .map((agent) => (
                      <option key={agent.id} value={agent.id}>
                        {agent.name} ({agent.hostname}){agent.id === job.agentId ? " — the job's own machine" : ""}
                      </option>
                    ))}
                </NativeSelect>
              </Field>
              <fieldset className="space-y-2">
                <legend className="text-sm font-medium">Where to write</legend>
                <RadioGroup
                  aria-label="Where to write"
                  value={where}
                  onValueChange={(value) => setWhere(value as "original" | "folder")}
                >
                  <RadioItem
                    value="folder"
                    label="Another folder"
                    description="Files land below it with their full paths (e.g. <folder>/home/ann/report.pdf); nothing live is touched."
                  />
                  <RadioItem
                    value="original"
                    label="The original location"
                    description="Files go back where they were, over what is there now."
                  />
                </RadioGroup>
              </fieldset>
              {where === "folder" && (
                <Field label="Folder" error={errors.targetPath} description={`For example ${suggestion}`}>
                  <Input
                    name="targetPath"
                    value={targetPath}
                    onChange={(event) => setTargetPath(event.target.value)}
                    placeholder={suggestion}
                  />
                </Field>
              )}
              <fieldset className="space-y-2">
                <legend className="text-sm font-medium">When a file exists already</legend>
                <RadioGroup
                  aria-label="When a file exists already"
                  value={overwrite}
                  onValueChange={(value) => setOverwrite(value as typeof overwrite)}
                >
                  <RadioItem
                    value="if-changed"
                    label="Replace it if it differs"
                    description="Identical files are left alone (fast)."
                  />
                  <RadioItem value="always" label="Always replace it" />
                  <RadioItem
                    value="never"
                    label="Keep the existing file"
                    description="Only missing files are restored."
                  />
                </RadioGroup>
              </fieldset>
              <p className="text-sm">{selectionSummary(selection)}</p>
              {start.error && (
                <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
                  The restore could not start: {start.error.message}
                </p>
              )}
            </div>
          )}
        </WizardFrame>
        <ConfirmDialog
          open={confirming}
          onOpenChange={setConfirming}
          title="Overwrite live files?"
          description={`This writes the selected files ${where === "original" ? "back to their original place" : `into ${targetPath}`} on ${targetAgent?.name ?? "the agent"}${overwrite === "always" ? ", replacing every existing file" : ", replacing files that differ"}. What is there now cannot be recovered unless another backup holds it.`}
          confirmLabel="Restore and overwrite"
          onConfirm={() => start.mutateAsync()}
        />
      </CardBody>
    </Card>
  );
}
