import { parseArgs } from "node:util";
import { addKey, changePassword, listKeys, removeKey } from "@e3/engine";
import { commonOptions, exitCodes, open, password, print, UsageError } from "../context.ts";
import { table } from "../output.ts";

// restic's `key list|add|remove ID|passwd`: passwords of the repository, each a key file for the same master key.

/** The new password: --new-password-file (its first line, as for --password-file) or E3_NEW_PASSWORD. */
async function newPassword(file: string | undefined): Promise<string> {
  if (file) return password({ json: false, "password-file": file });
  const fromEnvironment = process.env.E3_NEW_PASSWORD;
  if (fromEnvironment) return fromEnvironment;
  throw new UsageError("no new password: set E3_NEW_PASSWORD or pass --new-password-file FILE");
}

export async function keyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...commonOptions,
      "new-password-file": { type: "string" },
      user: { type: "string" },
      host: { type: "string" },
    },
  });
  const [action, ...rest] = positionals;
  const expected = action === "remove" ? 1 : 0;
  if (!action || !["list", "add", "remove", "passwd"].includes(action) || rest.length !== expected) {
    throw new UsageError("key takes list, add, remove ID or passwd");
  }
  // The new password is read before the repository is opened, so a missing one costs no key derivation.
  const replacement = action === "add" || action === "passwd" ? await newPassword(values["new-password-file"]) : "";
  const repository = await open(values);
  const labels = { username: values.user, hostname: values.host };
  switch (action) {
    case "list": {
      const keys = await listKeys(repository);
      const rows = keys.map((key) => [
        `${key.current ? "*" : " "}${key.id.slice(0, 8)}`,
        key.username,
        key.hostname,
        key.created,
      ]);
      print(
        values.json,
        keys.map((key) => ({ ...key, short_id: key.id.slice(0, 8) })),
        table([" ID", "User", "Host", "Created"], rows),
      );
      break;
    }
    case "add": {
      const id = await addKey(repository, replacement, labels);
      print(values.json, { message_type: "key_added", id }, `saved new key as ${id}`);
      break;
    }
    case "remove": {
      const id = await removeKey(repository, rest[0]!);
      print(values.json, { message_type: "key_removed", id }, `removed key ${id}`);
      break;
    }
    case "passwd": {
      const changed = await changePassword(repository, replacement, labels);
      print(
        values.json,
        { message_type: "password_changed", id: changed.keyId, removed: repository.keyId },
        `saved new key as ${changed.keyId}; removed key ${repository.keyId}`,
      );
      break;
    }
  }
  return exitCodes.ok;
}
