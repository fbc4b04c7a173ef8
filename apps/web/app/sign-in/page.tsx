"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { type FormEvent, Suspense, useRef, useState } from "react";
import { AuthFrame, Notice } from "../../components/auth/auth-frame.tsx";
import { Button } from "../../components/ui/button.tsx";
import { Checkbox } from "../../components/ui/checkbox.tsx";
import { Field } from "../../components/ui/field.tsx";
import { Input } from "../../components/ui/input.tsx";
import { authClient } from "../../lib/auth-client.ts";
import { afterSignIn } from "../../lib/sign-in-url.ts";

const reasons: Record<string, { tone: "info" | "success"; text: string }> = {
  expired: { tone: "info", text: "Your session has expired. Sign in again to continue where you were." },
  idle: { tone: "info", text: "You were signed out after a period of inactivity. Sign in again to continue." },
  "signed-out": { tone: "success", text: "You have signed out." },
  "password-reset": { tone: "success", text: "Your password was changed. Sign in with the new one." },
};

async function openPortal(next: string | null) {
  const session = await authClient.getSession();
  const role = (session.data?.user as { role?: string } | undefined)?.role === "admin" ? "admin" : "client";
  // A full load, so the server layouts see the new session cookie.
  window.location.assign(afterSignIn(next, role));
}

function SignInForm() {
  const params = useSearchParams();
  const next = params.get("next");
  const reason = reasons[params.get("reason") ?? ""];
  const [step, setStep] = useState<"password" | "code">("password");
  const [useBackupCode, setUseBackupCode] = useState(false);
  const [trustDevice, setTrustDevice] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);

  async function submitPassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    const result = await authClient.signIn.email({
      email: String(form.get("email")),
      password: String(form.get("password")),
    });
    if (result.error) {
      setPending(false);
      setError(result.error.message ?? "Sign-in failed; check the email and password.");
      return;
    }
    if ((result.data as { twoFactorRedirect?: boolean } | null)?.twoFactorRedirect) {
      setPending(false);
      setStep("code");
      setTimeout(() => codeInput.current?.focus(), 0);
      return;
    }
    await openPortal(next);
  }

  async function submitCode(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code")).trim();
    setPending(true);
    setError(null);
    const result = useBackupCode
      ? await authClient.twoFactor.verifyBackupCode({ code, trustDevice })
      : await authClient.twoFactor.verifyTotp({ code: code.replace(/\s/g, ""), trustDevice });
    if (result.error) {
      setPending(false);
      setError(
        result.error.status === 401 && !useBackupCode
          ? "That code is not valid. Use the current code from your authenticator app (it changes every 30 seconds)."
          : (result.error.message ?? "That code is not valid."),
      );
      codeInput.current?.select();
      return;
    }
    await openPortal(next);
  }

  if (step === "code") {
    return (
      <form onSubmit={submitCode} className="space-y-4" aria-describedby={error ? "sign-in-error" : undefined}>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          {useBackupCode
            ? "Enter one of the backup codes you saved when you turned on two-factor authentication. Each works once."
            : "Enter the 6-digit code from your authenticator app."}
        </p>
        <Field label={useBackupCode ? "Backup code" : "Authentication code"} error={null}>
          <Input
            ref={codeInput}
            name="code"
            required
            autoComplete="one-time-code"
            inputMode={useBackupCode ? "text" : "numeric"}
            pattern={useBackupCode ? undefined : "[0-9 ]{6,7}"}
            maxLength={useBackupCode ? 32 : 7}
          />
        </Field>
        <Checkbox
          label="Trust this browser for 30 days"
          checked={trustDevice}
          onCheckedChange={(value) => setTrustDevice(value === true)}
        />
        {error && (
          <Notice tone="error" id="sign-in-error">
            {error}
          </Notice>
        )}
        <Button type="submit" pending={pending} className="w-full">
          Verify
        </Button>
        <button
          type="button"
          className="text-sm font-medium text-sky-700 underline dark:text-sky-400"
          onClick={() => {
            setUseBackupCode(!useBackupCode);
            setError(null);
          }}
        >
          {useBackupCode ? "Use the authenticator app instead" : "Use a backup code instead"}
        </button>
      </form>
    );
  }

  return (
    <form onSubmit={submitPassword} className="space-y-4" aria-describedby={error ? "sign-in-error" : undefined}>
      {reason && <Notice tone={reason.tone}>{reason.text}</Notice>}
      <Field label="Email">
        <Input name="email" type="email" autoComplete="username" required />
      </Field>
      <Field label="Password">
        <Input name="password" type="password" autoComplete="current-password" required />
      </Field>
      {error && (
        <Notice tone="error" id="sign-in-error">
          {error}
        </Notice>
      )}
      <Button type="submit" pending={pending} className="w-full">
        {pending ? "Signing in…" : "Sign in"}
      </Button>
      <p className="text-sm">
        <Link href="/forgot-password" className="font-medium text-sky-700 underline dark:text-sky-400">
          Forgot your password?
        </Link>
      </p>
    </form>
  );
}

export default function SignInPage() {
  return (
    <AuthFrame title="Sign in">
      <Suspense>
        <SignInForm />
      </Suspense>
    </AuthFrame>
  );
}
