"use client";

import { AlertTriangle, RotateCw } from "lucide-react";
import Link from "next/link";
import { Button } from "./button.tsx";

type ErrorLike = { message: string; data?: { code?: string } | null } | null | undefined;

/**
 * A failed query, shown where its data would be, with Retry. An ended session gets a sign-in link instead, since
 * retrying cannot help.
 */
export function ErrorState({
  error,
  onRetry,
  what = "This section",
}: {
  error: ErrorLike;
  onRetry?: () => unknown;
  /** What failed to load, e.g. "The run list". */
  what?: string;
}) {
  if (!error) return null;
  const code = error.data?.code;
  return (
    <div
      role="alert"
      className="flex flex-wrap items-start gap-3 rounded-md border border-red-300 bg-red-50 p-4 text-sm text-red-900 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200"
    >
      <AlertTriangle className="mt-0.5 size-5 shrink-0" aria-hidden />
      <div className="min-w-0 flex-1 space-y-1">
        {code === "UNAUTHORIZED" ? (
          <p>
            Your session has ended.{" "}
            <Link href="/sign-in" className="font-medium underline">
              Sign in again
            </Link>
            .
          </p>
        ) : (
          <>
            <p className="font-medium">{what} could not load.</p>
            <p className="break-words">{error.message}</p>
          </>
        )}
      </div>
      {onRetry && code !== "UNAUTHORIZED" && (
        <Button variant="secondary" size="sm" onClick={() => onRetry()}>
          <RotateCw aria-hidden /> Retry
        </Button>
      )}
    </div>
  );
}
