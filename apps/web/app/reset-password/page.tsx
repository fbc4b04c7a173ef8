"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { type FormEvent, Suspense, useState } from "react";
import { AuthFrame, Notice } from "../../components/auth/auth-frame.tsx";
import { Button } from "../../components/ui/button.tsx";
import { Field } from "../../components/ui/field.tsx";
import { Input } from "../../components/ui/input.tsx";
import { authClient } from "../../lib/auth-client.ts";

const minLength = 10;

function ResetForm() {
  const params = useSearchParams();
  const token = params.get("token");
  const linkError = params.get("error");
  const [errors, setErrors] = useState<{ password?: string; confirm?: string; form?: string }>({});
  const [pending, setPending] = useState(false);

  if (!token || linkError) {
    return (
      <div className="space-y-4">
        <Notice tone="error">
          This reset link is not valid any more (links work once, for one hour). Ask for a new one.
        </Notice>
        <Link href="/forgot-password" className="text-sm font-medium text-sky-700 underline dark:text-sky-400">
          Send a new link
        </Link>
      </div>
    );
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const password = String(form.get("password"));
    const confirm = String(form.get("confirm"));
    const found: typeof errors = {};
    if (password.length < minLength) found.password = `must be at least ${minLength} characters`;
    else if (password !== confirm) found.confirm = "does not match the new password";
    setErrors(found);
    if (found.password || found.confirm) {
      event.currentTarget.querySelector<HTMLInputElement>("[aria-invalid=true]")?.focus();
      return;
    }
    setPending(true);
    const result = await authClient.resetPassword({ newPassword: password, token: token ?? "" });
    if (result.error) {
      setPending(false);
      setErrors({
        form:
          result.error.code === "INVALID_TOKEN"
            ? "This reset link is not valid any more (links work once, for one hour). Ask for a new one."
            : (result.error.message ?? "The password could not be changed."),
      });
      return;
    }
    window.location.assign("/sign-in?reason=password-reset");
  }

  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      <Field label="New password" description={`At least ${minLength} characters.`} error={errors.password}>
        <Input name="password" type="password" autoComplete="new-password" required />
      </Field>
      <Field label="Repeat the new password" error={errors.confirm}>
        <Input name="confirm" type="password" autoComplete="new-password" required />
      </Field>
      {errors.form && <Notice tone="error">{errors.form}</Notice>}
      <Button type="submit" pending={pending} className="w-full">
        Set new password
      </Button>
    </form>
  );
}

export default function ResetPasswordPage() {
  return (
    <AuthFrame title="Choose a new password">
      <Suspense>
        <ResetForm />
      </Suspense>
    </AuthFrame>
  );
}
