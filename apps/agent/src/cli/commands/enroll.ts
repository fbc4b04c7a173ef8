import { parseArgs } from "node:util";
import { agentPaths } from "../../agent/config.ts";
import { enrollAgent } from "../../agent/enroll.ts";
import { agentVersion } from "../../agent/version.ts";
import { exitCodes, print, UsageError } from "../context.ts";

export async function enrollCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      server: { type: "string" },
      token: { type: "string" },
      name: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (!values.server) throw new UsageError("enroll needs --server URL (the portal's address)");
  if (!URL.canParse(values.server) || !/^https?:$/.test(new URL(values.server).protocol)) {
    throw new UsageError(`--server must be the portal's http(s) URL, not ${JSON.stringify(values.server)}`);
  }
  const token = values.token ?? process.env.E3_ENROLLMENT_TOKEN;
  if (!token) throw new UsageError("enroll needs --token T (or E3_ENROLLMENT_TOKEN), created in the portal");
  const { configFile } = agentPaths();
  const config = await enrollAgent({
    server: values.server,
    token,
    configFile,
    name: values.name,
    version: agentVersion,
  });
  print(
    values.json,
    { message_type: "enrolled", agent_id: config.agentId, server: config.server, config: configFile },
    `enrolled as agent ${config.agentId} with ${config.server}; identity written to ${configFile}`,
  );
  return exitCodes.ok;
}
