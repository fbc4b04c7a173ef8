import { redirect } from "next/navigation";

// Offline-agent emails link to /agents/<id>; the agents page lists every machine with its state, so go there.
export default async function AgentLinkPage({ params }: { params: Promise<{ agentId: string }> }) {
  const { agentId } = await params;
  redirect(`/agents?agent=${encodeURIComponent(agentId)}`);
}
