import pino, { type DestinationStream, type Logger } from "pino";

// The one logger of the server side. Secrets never reach a log line: every field that can carry one is redacted
// centrally here, wherever it sits in a logged object, so a careless `log.info({ run })` stays safe.

export const redactedPaths = [
  "password",
  "*.password",
  "*.*.password",
  "secretAccessKey",
  "*.secretAccessKey",
  "*.*.secretAccessKey",
  "accessKeyId",
  "*.accessKeyId",
  "*.*.accessKeyId",
  "agentToken",
  "*.agentToken",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "*.destAccessKeyEnc",
  "*.destSecretKeyEnc",
  "*.repoPasswordEnc",
  "*.secretEnc",
  "headers.authorization",
  'headers["x-agent-token"]',
  "headers.cookie",
  "*.headers.authorization",
  '*.headers["x-agent-token"]',
  "*.headers.cookie",
];

export function createLogger(name: string, destination?: DestinationStream): Logger {
  return pino(
    { name, level: process.env.LOG_LEVEL ?? "info", redact: { paths: redactedPaths, censor: "[redacted]" } },
    destination,
  );
}

export const log = createLogger("e3");
