"use client";

import { useParams } from "next/navigation";
import { RunDetail } from "../../../../components/runs/run-detail.tsx";

/** The run page, for deep links (emails, the restore wizard's redirect); the runs history opens the same in a modal. */
export default function RunPage() {
  const { runId } = useParams<{ runId: string }>();
  return <RunDetail runId={runId} />;
}
