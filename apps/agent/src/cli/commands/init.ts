import { parseArgs } from "node:util";
import { initRepository, prepareStorage } from "@e3/engine";
import { commonOptions, exitCodes, location, opened, password, print } from "../context.ts";

export async function initCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: commonOptions, allowPositionals: false });
  const where = location(values);
  const storage = await prepareStorage(where);
  opened.push(storage);
  const repository = await initRepository(storage, await password(values));
  print(
    values.json,
    { message_type: "initialized", id: repository.config.id, repository: where },
    `created e3 repository ${repository.config.id.slice(0, 10)} at ${where}\n\n` +
      "Please note that knowledge of your password is required to access the repository.\n" +
      "Losing your password means that your data is irrecoverably lost.",
  );
  return exitCodes.ok;
}
