"use client";

import { useParams } from "next/navigation";
import { AdminRunDetail } from "../../../../components/admin/admin-run-detail.tsx";

/** One run of any tenant, for deep links; the admin run tables open the same in a modal. */
export default function AdminRunPage() {
  const { runId } = useParams<{ runId: string }>();
  return <AdminRunDetail runId={runId} />;
}
