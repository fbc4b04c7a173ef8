import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { agentPaths } from "../../agent/config.ts";
import { statusPageFile, statusPageFileSchema } from "../../status-page/server.ts";
import { exitCodes, UsageError } from "../context.ts";

// e3-backup-agent status-page [--open]: the running agent's status page address (with its token), from the state
// folder; --open hands it to the desktop's browser.

export async function statusPageCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: { open: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  const file = statusPageFile(agentPaths().stateDir);
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      error.code === "ENOENT"
        ? `${file} does not exist: is the agent running ('e3-backup-agent service status')?`
        : `cannot read ${file} (${error.code}); on Linux add yourself to the e3backup group, or use sudo`,
    );
  });
  const { url } = statusPageFileSchema.parse(JSON.parse(text));
  process.stdout.write(`${url}\n`);
  if (values.open) {
    const [command, ...rest] =
      process.platform === "win32"
        ? ["rundll32", "url.dll,FileProtocolHandler"]
        : process.platform === "darwin"
          ? ["open"]
          : ["xdg-open"];
    spawn(command as string, [...rest, url], { detached: true, stdio: "ignore" })
      .on("error", () => {})
      .unref();
  }
  return exitCodes.ok;
}
