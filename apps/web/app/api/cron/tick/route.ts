import { createMailer, runTick } from "@e3/api";
import { getServerContext } from "../../../../lib/server-context.ts";

export const dynamic = "force-dynamic";

/**
 * One worker tick per call, for hosts without a long-running worker (Vercel cron sends
 * `Authorization: Bearer $CRON_SECRET`). Safe beside running workers: every step is claim-based.
 */
export async function GET(request: Request) {
  const secret = process.env.CRON_SECRET;
  if (!secret) return Response.json({ error: "set CRON_SECRET to enable the cron endpoint" }, { status: 404 });
  if (request.headers.get("authorization") !== `Bearer ${secret}`) {
    return Response.json({ error: "wrong or missing cron secret" }, { status: 401 });
  }
  const { db, keyring, config } = getServerContext();
  const mailer = config.SMTP_URL ? createMailer(config.SMTP_URL, config.SMTP_FROM) : null;
  const result = await runTick(db, config, { db, keyring, mailer, portalUrl: config.E3_PUBLIC_URL });
  return Response.json(result);
}
