"use client";

import { AlertTriangle } from "lucide-react";
import { countRules, durationRules, presetOf, retentionDraftFromPreset } from "../../lib/job-wizard/retention.ts";
import { Button } from "../ui/button.tsx";
import { Checkbox } from "../ui/checkbox.tsx";
import { Field } from "../ui/field.tsx";
import { Input, NativeSelect } from "../ui/input.tsx";
import { RadioGroup, RadioItem } from "../ui/radio-group.tsx";
import { RetentionPreview, type RetentionPreviewData } from "./retention-preview.tsx";
import type { StepProps } from "./step-props.ts";

export type RetentionPreviewState = { data: RetentionPreviewData | undefined; error: string | null; pending: boolean };

/** Step 4: how long snapshots are kept (with the preview), and how the engine works. */
export function RetentionStep({
  draft,
  update,
  errors,
  preview,
  editing,
}: StepProps & { preview: RetentionPreviewState; editing?: boolean }) {
  const retention = draft.retention;
  const chosenPreset = presetOf(retention);
  return (
    <div className="space-y-8">
      {draft.engine === "backup" ? (
        <section aria-labelledby="retention-heading" className="space-y-4">
          <h3 id="retention-heading" className="text-base font-semibold">
            Retention
          </h3>
          <RadioGroup
            aria-label="Retention"
            value={retention.mode}
            onValueChange={(value) =>
              update((d) => {
                d.retention.mode = value as "all" | "only";
              })
            }
          >
            <RadioItem value="all" label="Keep everything" description="Snapshots are never deleted by e3." />
            <RadioItem
              value="only"
              label="Keep only…"
              description="Snapshots no rule keeps are deleted after each backup (restic's forget rules)."
            />
          </RadioGroup>
          {retention.mode === "only" && (
            <>
              <div className="flex flex-wrap items-center gap-2">
                <span className="text-sm font-medium">Presets:</span>
                <Button
                  size="sm"
                  variant={chosenPreset === "smart" ? "primary" : "secondary"}
                  aria-pressed={chosenPreset === "smart"}
                  onClick={() =>
                    update((d) => {
                      d.retention = retentionDraftFromPreset("smart");
                    })
                  }
                >
                  Smart (7 daily, 4 weekly, 12 monthly by age)
                </Button>
                <Button
                  size="sm"
                  variant={chosenPreset === "classic" ? "primary" : "secondary"}
                  aria-pressed={chosenPreset === "classic"}
                  onClick={() =>
                    update((d) => {
                      d.retention = retentionDraftFromPreset("classic");
                    })
                  }
                >
                  7 daily, 4 weekly, 12 monthly
                </Button>
              </div>
              {errors.retention && (
                <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
                  {errors.retention}
                </p>
              )}
              <div className="grid gap-4 sm:grid-cols-3">
                {countRules.map((rule, index) => (
                  <Field
                    key={rule.key}
                    label={rule.label}
                    description={rule.hint}
                    error={errors[`retention.${rule.key}`] ?? (index === 0 ? errors.retention : undefined)}
                  >
                    <Input
                      name={`retention.${rule.key}`}
                      value={retention[rule.key]}
                      inputMode="numeric"
                      onChange={(event) =>
                        update((d) => {
                          d.retention[rule.key] = event.target.value;
                        })
                      }
                    />
                  </Field>
                ))}
                {durationRules.map((rule) => (
                  <Field
                    key={rule.key}
                    label={rule.label}
                    description={rule.hint}
                    error={errors[`retention.${rule.key}`]}
                  >
                    <Input
                      name={`retention.${rule.key}`}
                      value={retention[rule.key]}
                      placeholder="e.g. 30d, 4w, 6m, 1y"
                      onChange={(event) =>
                        update((d) => {
                          d.retention[rule.key] = event.target.value;
                        })
                      }
                    />
                  </Field>
                ))}
              </div>
              <section
                aria-labelledby="retention-preview-heading"
                className="space-y-2 rounded-md border border-slate-200 p-4 dark:border-slate-800"
              >
                <h4 id="retention-preview-heading" className="text-sm font-semibold">
                  Preview
                </h4>
                <div aria-live="polite">
                  {preview.error ? (
                    <p className="text-sm text-red-700 dark:text-red-400">{preview.error}</p>
                  ) : preview.data ? (
                    <RetentionPreview preview={preview.data} />
                  ) : (
                    <p className="text-sm text-slate-600 dark:text-slate-400">
                      {preview.pending ? "Planning…" : "Fill in a rule to see what it keeps."}
                    </p>
                  )}
                </div>
              </section>
            </>
          )}
        </section>
      ) : (
        <p className="text-sm text-slate-600 dark:text-slate-400">
          Sync jobs keep no snapshots, so there is no retention: the destination holds the latest state.
        </p>
      )}

      <section aria-labelledby="policy-heading" className="space-y-4">
        <h3 id="policy-heading" className="text-base font-semibold">
          Policy
        </h3>
        <div className="grid gap-4 sm:grid-cols-2">
          {draft.engine === "backup" && (
            <Field label="Compression" error={errors.compression}>
              <NativeSelect
                name="compression"
                value={draft.compression}
                onChange={(event) =>
                  update((d) => {
                    d.compression = event.target.value as typeof d.compression;
                  })
                }
              >
                <option value="auto">Automatic (fast zstd)</option>
                <option value="max">Maximum (slower, smaller)</option>
                <option value="off">Off</option>
              </NativeSelect>
            </Field>
          )}
          <Field
            label="Bandwidth limit (KiB/s)"
            error={errors.bandwidthLimitKbps}
            description="Upload limit; empty for none."
          >
            <Input
              name="bandwidthLimitKbps"
              value={draft.bandwidthLimitKbps}
              inputMode="numeric"
              onChange={(event) =>
                update((d) => {
                  d.bandwidthLimitKbps = event.target.value;
                })
              }
            />
          </Field>
          <Field
            label="Bandwidth timetable"
            error={errors["policy.bandwidthTimetable"]}
            description='rclone style: "Mon-Fri 08:00,512 18:00,off" (limits by time of day; overrides the limit).'
          >
            <Input
              name="policy.bandwidthTimetable"
              value={draft.policy.bandwidthTimetable ?? ""}
              onChange={(event) =>
                update((d) => {
                  d.policy.bandwidthTimetable = event.target.value;
                })
              }
              className="font-mono"
            />
          </Field>
          <Field
            label="Parallelism"
            error={errors.parallelism}
            description="Files worked on at once; empty for the engine's default."
          >
            <Input
              name="parallelism"
              value={draft.parallelism}
              inputMode="numeric"
              onChange={(event) =>
                update((d) => {
                  d.parallelism = event.target.value;
                })
              }
            />
          </Field>
          <Field label="Notifications" error={errors.notifyOn} description="Empty: your account's setting.">
            <NativeSelect
              name="notifyOn"
              value={draft.notifyOn}
              onChange={(event) =>
                update((d) => {
                  d.notifyOn = event.target.value as typeof d.notifyOn;
                })
              }
            >
              <option value="">As in Settings</option>
              <option value="all">Every run</option>
              <option value="errors">Errors and warnings only</option>
              <option value="off">Off</option>
            </NativeSelect>
          </Field>
        </div>
        {draft.engine === "backup" && (
          <div className="flex flex-wrap gap-x-6 gap-y-2">
            <Checkbox
              label="Skip cache folders (CACHEDIR.TAG)"
              checked={draft.policy.excludeCaches}
              onCheckedChange={(checked) =>
                update((d) => {
                  d.policy.excludeCaches = checked === true;
                })
              }
            />
            <Checkbox
              label="Stay on one file system"
              checked={draft.policy.oneFileSystem}
              onCheckedChange={(checked) =>
                update((d) => {
                  d.policy.oneFileSystem = checked === true;
                })
              }
            />
            <Checkbox
              label="Skip unreadable files (run ends with a warning)"
              checked={draft.policy.skipUnreadable}
              onCheckedChange={(checked) =>
                update((d) => {
                  d.policy.skipUnreadable = checked === true;
                })
              }
            />
          </div>
        )}
      </section>

      {draft.engine === "backup" && (
        <section aria-labelledby="encryption-heading" className="space-y-3">
          <h3 id="encryption-heading" className="text-base font-semibold">
            Encryption
          </h3>
          <RadioGroup
            aria-label="Encryption"
            value={draft.encryptionMode}
            disabled={editing}
            onValueChange={(value) =>
              update((d) => {
                d.encryptionMode = value as "managed" | "agent";
              })
            }
          >
            <RadioItem
              value="managed"
              label="Managed by the portal (recommended)"
              description="The portal generates the repository password and keeps it encrypted, so any of your machines can restore, even after the original one is lost."
            />
            <RadioItem
              value="agent"
              label="Held by the agent only"
              description="Only the machine knows the password; the provider can never read the data."
            />
          </RadioGroup>
          {draft.encryptionMode === "agent" && (
            <div
              role="alert"
              className="flex gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-100"
            >
              <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
              <p>
                Without the machine's key nobody can restore these backups — not you from another machine, not your
                provider. After the first backup the Jobs page offers this job's recovery passphrase as a download,{" "}
                <strong>once</strong>: the portal erases its copy as you take it. Keep it somewhere safe, away from the
                machine.
              </p>
            </div>
          )}
          {editing && (
            <p className="text-sm text-slate-600 dark:text-slate-400">
              The encryption of an existing repository cannot change.
            </p>
          )}
        </section>
      )}
    </div>
  );
}
