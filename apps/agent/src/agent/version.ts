import { readFileSync } from "node:fs";
import { join } from "node:path";

// The single-file build (apps/agent/build) defines the version: an executable has no package.json beside it.
declare const __E3_AGENT_VERSION__: string | undefined;

/** The agent's version, from its package.json; the portal shows it per agent. */
export const agentVersion: string =
  typeof __E3_AGENT_VERSION__ === "string"
    ? __E3_AGENT_VERSION__
    : (JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "package.json"), "utf8")) as { version: string })
        .version;
