"use client";

import { useQuery } from "@tanstack/react-query";
import { useParams } from "next/navigation";
import { JobWizard } from "../../../../../components/job-wizard/job-wizard.tsx";
import { ErrorState } from "../../../../../components/ui/error-state.tsx";
import { PageHeader } from "../../../../../components/ui/page-header.tsx";
import { Skeleton } from "../../../../../components/ui/skeleton.tsx";
import { draftFromJob, type StoredJob } from "../../../../../lib/job-wizard/draft.ts";
import { useTRPC } from "../../../../../lib/trpc-client.tsx";

export default function EditJobPage() {
  const { jobId } = useParams<{ jobId: string }>();
  const trpc = useTRPC();
  const job = useQuery(trpc.jobs.get.queryOptions({ jobId }));
  return (
    <div className="space-y-6">
      <PageHeader
        title={job.data ? `Edit ${job.data.name}` : "Edit job"}
        description="The same wizard as for a new job."
      />
      {job.error && <ErrorState error={job.error} onRetry={() => job.refetch()} what="The job" />}
      {job.isPending && <Skeleton lines={8} />}
      {job.data && (
        <JobWizard
          jobId={jobId}
          initial={draftFromJob(job.data as unknown as StoredJob)}
          hasStoredKeys={job.data.hasAccessKey && job.data.hasSecretKey}
        />
      )}
    </div>
  );
}
