import { z } from "zod";
import { parseAllowedEndpoints } from "./services/endpoint-guard.ts";

// Server configuration, read and validated once. Every variable is documented in the README.

const seconds = (fallback: number) =>
  z.coerce.number({ error: "must be a whole number of seconds" }).int().positive().default(fallback);

const serverEnvSchema = z
  .object({
    DATABASE_URL: z
      .string({ error: "is required (npm start sets it for the embedded database)" })
      .min(1, "is required (npm start sets it for the embedded database)"),
    AGENT_WATCHDOG_TIMEOUT_SECONDS: seconds(720),
    AGENT_RECLAIM_GRACE_SECONDS: seconds(180),
    WORKER_TICK_SECONDS: seconds(10),
    /** The portal's public URL: links in emails, cookie scope. */
    E3_PUBLIC_URL: z
      .url({ protocol: /^https?$/, error: "must be the portal's http(s) URL" })
      .default("http://127.0.0.1:3000"),
    /** smtp://user:pass@host:587 or smtps://…; unset means no email is sent (and the worker says so). */
    SMTP_URL: z.url({ protocol: /^smtps?$/, error: "must be an smtp:// or smtps:// URL" }).optional(),
    SMTP_FROM: z.string().min(3).default("e3 backup <no-reply@localhost>"),
    /** A portal session ends after this many minutes without user activity (Comet: 30). */
    E3_SESSION_IDLE_MINUTES: z.coerce
      .number({ error: "must be a whole number of minutes" })
      .int()
      .min(1, "must be at least 1 minute")
      .max(30 * 24 * 60, "must be at most 30 days")
      .default(30),
    /** S3 endpoints on private or loopback addresses the wizard's probes may still reach (the provider's own). */
    E3_ALLOWED_S3_ENDPOINTS: z
      .string()
      .optional()
      .transform((value, context) => {
        const parsed = parseAllowedEndpoints(value);
        if ("origins" in parsed) return parsed.origins;
        context.addIssue({ code: "custom", message: parsed.error });
        return z.NEVER;
      }),
  })
  .refine((env) => env.AGENT_RECLAIM_GRACE_SECONDS < env.AGENT_WATCHDOG_TIMEOUT_SECONDS, {
    message:
      "AGENT_RECLAIM_GRACE_SECONDS must be less than AGENT_WATCHDOG_TIMEOUT_SECONDS, or the watchdog fails runs their agents could still reclaim",
    path: ["AGENT_RECLAIM_GRACE_SECONDS"],
  });

export type ServerConfig = z.infer<typeof serverEnvSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export function readServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = serverEnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "env"}: ${issue.message}`);
  throw new ConfigError(`invalid server configuration: ${problems.join("; ")}`);
}
