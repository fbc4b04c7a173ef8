import { HardDriveUpload } from "lucide-react";
import type { ReactNode } from "react";

/** The signed-out pages' frame: the product name, the page's heading and one card with its form. */
export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main id="main" className="mx-auto flex min-h-screen max-w-sm flex-col justify-center gap-6 px-6 py-10">
      <p className="flex items-center gap-2 text-base font-semibold">
        <HardDriveUpload className="size-5 text-sky-700 dark:text-sky-400" aria-hidden /> e3 backup
      </p>
      <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
      <div className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        {children}
      </div>
    </main>
  );
}

export function Notice({
  tone,
  children,
  id,
}: {
  tone: "info" | "error" | "success";
  children: ReactNode;
  id?: string;
}) {
  const tones = {
    info: "border-sky-300 bg-sky-50 text-sky-950 dark:border-sky-800 dark:bg-sky-950/40 dark:text-sky-100",
    error: "border-red-300 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200",
    success:
      "border-emerald-300 bg-emerald-50 text-emerald-950 dark:border-emerald-800 dark:bg-emerald-950/40 dark:text-emerald-100",
  };
  return (
    <p
      id={id}
      role={tone === "error" ? "alert" : "status"}
      className={`rounded-md border px-3 py-2 text-sm ${tones[tone]}`}
    >
      {children}
    </p>
  );
}
