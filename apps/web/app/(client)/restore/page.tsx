"use client";

import { useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { RestoreWizard } from "../../../components/restore/restore-wizard.tsx";
import { PageHeader } from "../../../components/ui/page-header.tsx";

function Restore() {
  const jobId = useSearchParams().get("jobId") ?? undefined;
  return <RestoreWizard {...(jobId ? { initialJobId: jobId } : {})} />;
}

export default function RestorePage() {
  return (
    <div className="space-y-6">
      <PageHeader
        title="Restore"
        description="Bring back files from a snapshot, to where they were, to another folder or to another machine."
      />
      <Suspense>
        <Restore />
      </Suspense>
    </div>
  );
}
