import {
  type AgentApiDeps,
  type Auth,
  createAuth,
  createMailer,
  keyringFromEnv,
  type Mailer,
  RunUpdates,
  readServerConfig,
  type ServerConfig,
} from "@e3/api";
import { getDatabase } from "./db.ts";

// Configuration is read and validated once per server process; a bad variable fails the first request loudly.

type ServerContext = AgentApiDeps & {
  auth: Auth;
  config: ServerConfig;
  live: RunUpdates;
  mailer: Mailer | null;
  portalUrl: string;
};
let context: ServerContext | undefined;

function authSecret(): string {
  const secret = process.env.E3_AUTH_SECRET;
  if (!secret || secret.length < 32) {
    throw new Error(
      "E3_AUTH_SECRET must be at least 32 random characters (openssl rand -base64 32); npm start creates one",
    );
  }
  return secret;
}

export function getServerContext(): ServerContext {
  if (!context) {
    const config = readServerConfig();
    const db = getDatabase();
    context = {
      db,
      keyring: keyringFromEnv(process.env),
      config,
      auth: createAuth({
        db,
        secret: authSecret(),
        baseURL: config.E3_PUBLIC_URL,
        sessionIdleSeconds: config.E3_SESSION_IDLE_MINUTES * 60,
        ...(config.SMTP_URL
          ? {
              sendPasswordReset: ({ to, url }) =>
                createMailer(config.SMTP_URL!, config.SMTP_FROM).sendRaw(
                  to,
                  "[e3] Reset your password",
                  `Someone asked to reset the password of this e3 account. If it was you, open this link within an hour:\n\n${url}\n\nIf not, ignore this message; the password stays as it is.`,
                ),
            }
          : {}),
      }),
      live: new RunUpdates(config.DATABASE_URL),
      mailer: config.SMTP_URL ? createMailer(config.SMTP_URL, config.SMTP_FROM) : null,
      portalUrl: config.E3_PUBLIC_URL,
    };
  }
  return context;
}

/** The idle timeout the browser enforces (SessionWatch), from E3_SESSION_IDLE_MINUTES. */
export function sessionIdleSeconds(): number {
  return getServerContext().config.E3_SESSION_IDLE_MINUTES * 60;
}
