import { spawn } from "node:child_process";
import { agentPaths } from "../../agent/config.ts";
import { windowsTrayCommand } from "../../platform/tray.ts";
import { statusPageFile } from "../../status-page/server.ts";
import { exitCodes, UsageError } from "../context.ts";

// e3-backup-agent tray: shows the tray icon that opens the status page (Windows; started at logon by the Run key
// that `service install` writes). It returns at once; the icon's own process stays until "Hide this icon" or logoff.

export async function trayCommand(args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError(`tray takes no arguments, not ${args.join(" ")}`);
  if (process.platform !== "win32") {
    throw new UsageError(
      "there is no tray icon on this platform; open the status page with 'e3-backup-agent status-page --open'",
    );
  }
  const { file, args: trayArgs } = windowsTrayCommand(statusPageFile(agentPaths().stateDir));
  spawn(file, trayArgs, { detached: true, stdio: "ignore", windowsHide: true })
    .on("error", () => {})
    .unref();
  return exitCodes.ok;
}
