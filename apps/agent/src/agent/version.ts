import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The agent's version, from its package.json; the portal shows it per agent. */
export const agentVersion: string = (
  JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "package.json"), "utf8")) as { version: string }
).version;
