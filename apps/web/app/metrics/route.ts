import { renderMetrics } from "@e3/api";
import { getServerContext } from "../../lib/server-context.ts";

export const dynamic = "force-dynamic";

/** Prometheus scrape endpoint; with METRICS_TOKEN set, scrapers must send `Authorization: Bearer <token>`. */
export async function GET(request: Request) {
  const token = process.env.METRICS_TOKEN;
  if (token && request.headers.get("authorization") !== `Bearer ${token}`) {
    return new Response("metrics need Authorization: Bearer <METRICS_TOKEN>\n", { status: 401 });
  }
  const body = await renderMetrics(getServerContext().db);
  return new Response(body, { headers: { "content-type": "text/plain; version=0.0.4", "cache-control": "no-store" } });
}
