"use client";

import { Eye } from "lucide-react";
import { useState } from "react";
import { authClient } from "../../lib/auth-client.ts";
import { Button } from "../ui/button.tsx";

/**
 * Shown on every page while a provider admin views the portal as a client user (better-auth impersonation, audited
 * as user.impersonate). "Stop impersonating" returns to the admin's own session.
 */
export function ImpersonationBanner({ email }: { email: string }) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function stop() {
    setPending(true);
    setError(null);
    const result = await authClient.admin.stopImpersonating().catch((failure: Error) => ({ error: failure }));
    if (result.error) {
      setPending(false);
      setError(result.error.message ?? "could not stop impersonating; sign out instead");
      return;
    }
    window.location.assign("/admin/users");
  }
  return (
    <section
      aria-label="Viewing as client"
      data-testid="impersonation-banner"
      className="flex flex-wrap items-center justify-center gap-3 bg-amber-100 px-4 py-2 text-sm text-amber-950 dark:bg-amber-900/60 dark:text-amber-50"
    >
      <Eye className="size-4 shrink-0" aria-hidden />
      <p>
        You are viewing the portal as <strong>{email}</strong>. What you do here is done as this user and audited.
      </p>
      <Button size="sm" variant="secondary" pending={pending} onClick={stop}>
        Stop impersonating
      </Button>
      {error && (
        <p role="alert" className="font-medium">
          {error}
        </p>
      )}
    </section>
  );
}
