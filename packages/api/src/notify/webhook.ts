import { createHmac } from "node:crypto";
import type { Notice } from "./message.ts";

// Webhooks: JSON POSTs signed with HMAC-SHA256 over "<timestamp>.<body>" (X-E3-Timestamp, X-E3-Signature: v1=<hex>),
// so receivers can verify the sender and refuse replays. Transient failures are retried with backoff.

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export type WebhookResult = { delivered: boolean; attempts: number; lastError: string | null };

export async function deliverWebhook(
  url: string,
  secret: string,
  notice: Notice,
  options: { attempts?: number; baseDelayMs?: number; timeoutMs?: number } = {},
): Promise<WebhookResult> {
  const attempts = options.attempts ?? 4;
  const body = JSON.stringify({ type: notice.kind, ...notice });
  let lastError: string | null = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "e3-webhooks/1",
          "x-e3-timestamp": String(timestamp),
          "x-e3-signature": signWebhook(secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      if (response.ok) return { delivered: true, attempts: attempt, lastError: null };
      lastError = `HTTP ${response.status}`;
      // A 4xx other than 408/429 will not get better by retrying.
      if (response.status < 500 && response.status !== 408 && response.status !== 429) break;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (attempt < attempts) {
      const delay = (options.baseDelayMs ?? 1000) * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)));
    }
  }
  return { delivered: false, attempts, lastError };
}
