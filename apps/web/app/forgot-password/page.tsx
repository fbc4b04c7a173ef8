"use client";

import Link from "next/link";
import { type FormEvent, useState } from "react";
import { AuthFrame, Notice } from "../../components/auth/auth-frame.tsx";
import { Button } from "../../components/ui/button.tsx";
import { Field } from "../../components/ui/field.tsx";
import { Input } from "../../components/ui/input.tsx";
import { authClient } from "../../lib/auth-client.ts";

/** better-auth's request-password-reset: the link goes out by email (SMTP_URL) and is valid for an hour. */
export default function ForgotPasswordPage() {
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const email = String(new FormData(event.currentTarget).get("email")).trim();
    setPending(true);
    setError(null);
    const result = await authClient.requestPasswordReset({ email, redirectTo: "/reset-password" });
    setPending(false);
    if (result.error) {
      setError(
        result.error.status === 500
          ? "The portal could not send the email. Ask your backup provider to check its mail settings (SMTP_URL)."
          : (result.error.message ?? "The request failed; try again."),
      );
      return;
    }
    setSentTo(email);
  }

  return (
    <AuthFrame title="Reset your password">
      {sentTo ? (
        <div className="space-y-4">
          <Notice tone="success">
            If an account exists for {sentTo}, an email with a reset link is on its way. The link works for one hour.
          </Notice>
          <Link href="/sign-in" className="text-sm font-medium text-sky-700 underline dark:text-sky-400">
            Back to sign in
          </Link>
        </div>
      ) : (
        <form onSubmit={submit} className="space-y-4">
          <p className="text-sm text-slate-700 dark:text-slate-300">
            Enter the email address of your account and we will send you a link to choose a new password.
          </p>
          <Field label="Email">
            <Input name="email" type="email" autoComplete="username" required />
          </Field>
          {error && <Notice tone="error">{error}</Notice>}
          <Button type="submit" pending={pending} className="w-full">
            Send reset link
          </Button>
          <Link href="/sign-in" className="block text-sm font-medium text-sky-700 underline dark:text-sky-400">
            Back to sign in
          </Link>
        </form>
      )}
    </AuthFrame>
  );
}
