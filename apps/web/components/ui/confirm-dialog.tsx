"use client";

import { type ReactNode, useState } from "react";
import { Button } from "./button.tsx";
import { Dialog, DialogClose, DialogContent } from "./dialog.tsx";
import { Field } from "./field.tsx";
import { Input } from "./input.tsx";

/**
 * A confirmation before something destructive. With `confirmText` the user must type it (a name) first, as for
 * deleting an agent or a tenant. `onConfirm` may be async; the dialog stays open with its error if it throws.
 */
export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel,
  confirmText,
  destructive = true,
  onConfirm,
  children,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: ReactNode;
  description?: ReactNode;
  confirmLabel: string;
  confirmText?: string;
  destructive?: boolean;
  onConfirm: () => Promise<unknown> | unknown;
  children?: ReactNode;
}) {
  const [typed, setTyped] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const blocked = confirmText !== undefined && typed.trim() !== confirmText;

  async function confirm() {
    setPending(true);
    setError(null);
    try {
      await onConfirm();
      setTyped("");
      onOpenChange(false);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        if (!next) {
          setTyped("");
          setError(null);
        }
        onOpenChange(next);
      }}
    >
      <DialogContent
        size="sm"
        title={title}
        description={description}
        footer={
          <>
            <DialogClose asChild>
              <Button variant="secondary">Cancel</Button>
            </DialogClose>
            <Button variant={destructive ? "danger" : "primary"} pending={pending} disabled={blocked} onClick={confirm}>
              {confirmLabel}
            </Button>
          </>
        }
      >
        <div className="space-y-4">
          {children}
          {confirmText !== undefined && (
            <Field label={`Type “${confirmText}” to confirm`}>
              <Input value={typed} onChange={(event) => setTyped(event.target.value)} autoComplete="off" />
            </Field>
          )}
          {error && (
            <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
              {error}
            </p>
          )}
        </div>
      </DialogContent>
    </Dialog>
  );
}
