"use client";

import { AlertTriangle, Download, KeyRound } from "lucide-react";
import { useState } from "react";
import { downloadText } from "../../lib/download.ts";
import { type RecoveryKeyJob, recoveryKeyFile, recoveryKeyFileName } from "../../lib/recovery-key-file.ts";
import { Button } from "../ui/button.tsx";
import { CopyButton } from "../ui/copy-button.tsx";
import { Dialog, DialogClose, DialogContent, DialogTrigger } from "../ui/dialog.tsx";

// encryption_mode=agent: after the first backup the agent reports a recovery passphrase, which the portal hands out
// exactly once (jobs.recoveryKey) and then erases. The dialog says so before the user takes it, downloads it as a
// text file with instructions, and keeps it on screen (with Copy) until the dialog closes, in case the download
// went astray: closing is the last chance to see it.

export type TakenKey = { passphrase: string; keyId: string | null; createdAt: Date };

export function RecoveryKeyDialog({
  job,
  take,
  onTaken,
  download = downloadText,
}: {
  job: RecoveryKeyJob;
  /** jobs.recoveryKey: the passphrase, erased from the server as it is returned. */
  take: () => Promise<TakenKey>;
  /** Called when the dialog closes after the key was taken (not before: the list refreshing would unmount it). */
  onTaken?: () => void;
  download?: (fileName: string, text: string) => void;
}) {
  const [key, setKey] = useState<{ text: string; passphrase: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const fileName = recoveryKeyFileName(job.name);

  async function takeAndDownload() {
    setPending(true);
    setError(null);
    try {
      const taken = await take();
      const text = recoveryKeyFile(job, taken, new Date());
      setKey({ text, passphrase: taken.passphrase });
      download(fileName, text);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog
      onOpenChange={(open) => {
        if (!open && key) onTaken?.();
      }}
    >
      <DialogTrigger asChild>
        <Button size="sm" variant="secondary">
          <KeyRound aria-hidden /> Recovery passphrase<span className="sr-only">: {job.name}</span>
        </Button>
      </DialogTrigger>
      <DialogContent
        title={`Recovery passphrase for ${job.name}`}
        description="Only this job's machine holds its encryption key. This passphrase is the way in without it."
        footer={
          key ? (
            <DialogClose asChild>
              <Button>I have saved it</Button>
            </DialogClose>
          ) : (
            <>
              <DialogClose asChild>
                <Button variant="ghost">Not now</Button>
              </DialogClose>
              <Button onClick={takeAndDownload} pending={pending}>
                <Download aria-hidden /> Download passphrase
              </Button>
            </>
          )
        }
      >
        <div className="space-y-4">
          <div className="flex gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-100">
            <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
            <p>
              <strong>Shown once.</strong> The portal gives this passphrase out a single time and then erases its copy;
              neither you nor your provider can get it again. Without it, the backups cannot be restored if this machine
              or its e3 folder is lost. Keep the file in a password manager or print it, away from the machine.
            </p>
          </div>
          {error && (
            <p role="alert" className="text-sm text-red-700 dark:text-red-400">
              {error}
            </p>
          )}
          {key && (
            <div className="space-y-2" data-testid="recovery-key">
              <p role="status" className="text-sm">
                Downloaded as <code className="font-mono">{fileName}</code>. It is also shown here until you close this
                dialog:
              </p>
              <div className="flex flex-wrap items-center gap-2">
                <code className="rounded bg-slate-100 px-2 py-1 font-mono text-base tracking-wide dark:bg-slate-800">
                  {key.passphrase}
                </code>
                <CopyButton text={key.passphrase} label="Copy passphrase" />
                <Button size="sm" variant="ghost" onClick={() => download(fileName, key.text)}>
                  <Download aria-hidden /> Download again
                </Button>
              </div>
            </div>
          )}
        </div>
      </DialogContent>
    </Dialog>
  );
}
