import { getPortalStatus, type PortalStatus } from "@e3/api";
import { getDatabase } from "./db.ts";
import { e3Version } from "./version.ts";

export async function loadPortalStatus(): Promise<PortalStatus> {
  try {
    return await getPortalStatus(getDatabase(), e3Version);
  } catch (error) {
    return {
      version: e3Version,
      database: { ok: false, latencyMs: 0, error: (error as Error).message },
      workerHeartbeatAgeSeconds: null,
      counts: null,
    };
  }
}
