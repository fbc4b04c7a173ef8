import { parseArgs } from "node:util";
import { findSnapshot, listSnapshots, RepositoryReader, serveWebdav } from "@e3/engine";
import { z } from "zod";
import { cancellation, commonOptions, exitCodes, open, print, UsageError } from "../context.ts";

// e3-backup-agent mount: snapshots as a read-only WebDAV drive on 127.0.0.1 with a random password, until Ctrl-C or
// the idle timeout. One snapshot (--snapshot ID|latest) is served at the root; without it every snapshot is, as
// restic mount lays them out (/snapshots/<time>/…, /snapshots/latest/…, /ids/<id>/…).

const portSchema = z.coerce
  .number({ error: "--port must be a number" })
  .int("--port must be a whole number")
  .min(0, "--port must be 0 (any free port) to 65535")
  .max(65535, "--port must be 0 (any free port) to 65535");

/** `30m`, `1h30m`, `90s`, `2h`, or `0` (never) in milliseconds. */
export function parseIdleTimeout(text: string): number {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(trimmed);
  if (!match || trimmed === "") {
    throw new UsageError(
      `--idle-timeout must be a duration like 30m, 1h or 90s (0 for never), not ${JSON.stringify(text)}`,
    );
  }
  const [, hours = "0", minutes = "0", seconds = "0"] = match;
  return ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
}

export async function mountCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...commonOptions,
      snapshot: { type: "string" },
      port: { type: "string", default: "0" },
      "idle-timeout": { type: "string", default: "30m" },
      verbose: { type: "boolean", short: "v", default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError("mount takes no paths; pick a snapshot with --snapshot ID|latest");
  const port = portSchema.parse(values.port);
  const idleTimeoutMs = parseIdleTimeout(values["idle-timeout"]);
  const repository = await open(values);
  const reader = new RepositoryReader(repository.key, repository.storage);
  const snapshots = values.snapshot ? [await findSnapshot(reader, values.snapshot)] : await listSnapshots(reader);
  const signal = cancellation();
  const server = await serveWebdav({
    reader,
    snapshots,
    layout: values.snapshot ? "single" : "all",
    port,
    idleTimeoutMs,
    signal,
    ...(values.verbose ? { onLog: (line: string) => process.stderr.write(`${line}\n`) } : {}),
  });
  const what = values.snapshot
    ? `snapshot ${snapshots[0]?.id.slice(0, 8)} of ${snapshots[0]?.time}`
    : `${snapshots.length} snapshot${snapshots.length === 1 ? "" : "s"} (/snapshots/<time>/, /snapshots/latest/, /ids/<id>/)`;
  const idle = idleTimeoutMs === 0 ? "on Ctrl-C" : `after ${values["idle-timeout"]} without a request, or on Ctrl-C`;
  print(
    values.json,
    {
      message_type: "mounted",
      url: server.url,
      token_url: server.tokenUrl,
      username: server.username,
      password: server.password,
    },
    [
      `Serving ${what} read-only over WebDAV`,
      `  URL:      ${server.url}`,
      `  user:     ${server.username}`,
      `  password: ${server.password}`,
      "",
      "Windows (its WebClient sends Basic auth over plain HTTP only with BasicAuthLevel=2, so the password is in the path):",
      `  net use * ${server.tokenUrl}`,
      "  (Windows copies files up to 50 MB unless WebClient's FileSizeLimitInBytes is raised, see the README)",
      "Linux (davfs2; it asks for the user and password):",
      `  sudo mount -t davfs -o ro ${server.url} /mnt/e3`,
      "macOS (Finder: Go > Connect to Server, or):",
      `  mkdir -p /tmp/e3 && mount_webdav -s -i ${server.url} /tmp/e3`,
      "",
      `Stops ${idle}.`,
    ].join("\n"),
  );
  const why = await server.closed;
  if (why === "idle") process.stderr.write("e3-backup-agent mount: stopped after the idle timeout\n");
  return exitCodes.ok;
}
