import { JobWizard } from "../../../../components/job-wizard/job-wizard.tsx";
import { PageHeader } from "../../../../components/ui/page-header.tsx";

export default function NewJobPage() {
  return (
    <div className="space-y-6">
      <PageHeader title="New job" description="Back up or mirror folders of one of your machines." />
      <JobWizard />
    </div>
  );
}
