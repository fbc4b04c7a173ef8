import { linuxPlatform } from "./linux.ts";
import type { Platform, SystemCalls } from "./platform.ts";
import { realSystem } from "./system.ts";
import { windowsPlatform } from "./windows.ts";

/** The platform the agent runs on (Linux for every Unix-like system: the same paths and systemd where present). */
export function platformFor(
  os: NodeJS.Platform = process.platform,
  system: SystemCalls = realSystem,
  env: NodeJS.ProcessEnv = process.env,
): Platform {
  return os === "win32" ? windowsPlatform(system, env) : linuxPlatform(system);
}
