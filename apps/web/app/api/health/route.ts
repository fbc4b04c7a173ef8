import { loadPortalStatus } from "../../../lib/portal-status.ts";

export const dynamic = "force-dynamic";

/** Liveness for load balancers and monitors: 200 when the database answers, 503 otherwise. */
export async function GET() {
  const status = await loadPortalStatus();
  return Response.json(
    {
      ok: status.database.ok,
      version: status.version,
      database: status.database,
      workerHeartbeatAgeSeconds: status.workerHeartbeatAgeSeconds,
    },
    { status: status.database.ok ? 200 : 503, headers: { "cache-control": "no-store" } },
  );
}
