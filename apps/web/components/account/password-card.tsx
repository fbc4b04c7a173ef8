"use client";

import { type FormEvent, useState } from "react";
import { authClient } from "../../lib/auth-client.ts";
import { Button } from "../ui/button.tsx";
import { Card, CardBody, CardHeader } from "../ui/card.tsx";
import { Field } from "../ui/field.tsx";
import { Input } from "../ui/input.tsx";

const minLength = 10;

/** Change the password; other sessions (other browsers) are signed out. */
export function PasswordCard() {
  const [errors, setErrors] = useState<{ current?: string; password?: string; confirm?: string; form?: string }>({});
  const [done, setDone] = useState(false);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const current = String(form.get("current"));
    const password = String(form.get("password"));
    const found: typeof errors = {};
    if (!current) found.current = "is required";
    if (password.length < minLength) found.password = `must be at least ${minLength} characters`;
    else if (password !== String(form.get("confirm"))) found.confirm = "does not match the new password";
    setErrors(found);
    setDone(false);
    if (Object.keys(found).length > 0) {
      setTimeout(() => formElement.querySelector<HTMLInputElement>("[aria-invalid=true]")?.focus(), 0);
      return;
    }
    setPending(true);
    const result = await authClient.changePassword({
      currentPassword: current,
      newPassword: password,
      revokeOtherSessions: true,
    });
    setPending(false);
    if (result.error) {
      setErrors(
        result.error.code === "INVALID_PASSWORD"
          ? { current: "is not your current password" }
          : { form: result.error.message ?? "The password could not be changed." },
      );
      return;
    }
    formElement.reset();
    setDone(true);
  }

  return (
    <Card aria-labelledby="password-heading">
      <CardHeader id="password-heading" title="Password" description="Changing it signs out your other browsers." />
      <CardBody>
        <form onSubmit={submit} className="grid max-w-md gap-4" noValidate>
          <Field label="Current password" error={errors.current}>
            <Input name="current" type="password" autoComplete="current-password" />
          </Field>
          <Field label="New password" description={`At least ${minLength} characters.`} error={errors.password}>
            <Input name="password" type="password" autoComplete="new-password" />
          </Field>
          <Field label="Repeat the new password" error={errors.confirm}>
            <Input name="confirm" type="password" autoComplete="new-password" />
          </Field>
          {errors.form && (
            <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
              {errors.form}
            </p>
          )}
          {done && (
            <p role="status" className="text-sm font-medium text-emerald-700 dark:text-emerald-400">
              Password changed.
            </p>
          )}
          <div>
            <Button type="submit" pending={pending}>
              Change password
            </Button>
          </div>
        </form>
      </CardBody>
    </Card>
  );
}
