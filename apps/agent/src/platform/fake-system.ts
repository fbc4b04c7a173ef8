import type { ExecResult, SystemCalls } from "./platform.ts";

// SystemCalls faked for the platform tests: every call recorded, programs answered by the test's script, files kept
// in a map. Nothing reaches the operating system.

export type Call = { call: string; args: unknown[] };

export function fakeSystem(
  options: {
    answer?: (file: string, args: string[]) => Partial<ExecResult> | undefined;
    privileged?: boolean;
    self?: { file: string; args: string[]; standalone: boolean };
    assets?: Record<string, Buffer>;
    files?: Record<string, string>;
  } = {},
) {
  const calls: Call[] = [];
  const files = new Map<string, Buffer>(Object.entries(options.files ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
  const modes = new Map<string, number>();
  const system: SystemCalls = {
    async exec(file, args) {
      calls.push({ call: "exec", args: [file, ...args] });
      return { code: 0, stdout: "", stderr: "", ...options.answer?.(file, args) };
    },
    async writeFile(path, data, mode) {
      calls.push({ call: "writeFile", args: [path, mode] });
      files.set(path, Buffer.from(data));
      modes.set(path, mode);
    },
    async readFile(path) {
      return files.get(path);
    },
    async copyFile(from, to, mode) {
      calls.push({ call: "copyFile", args: [from, to, mode] });
      files.set(to, Buffer.from(`copy of ${from}`));
    },
    async removeFile(path) {
      calls.push({ call: "removeFile", args: [path] });
      files.delete(path);
    },
    async makeDirectory(path, mode) {
      calls.push({ call: "makeDirectory", args: [path, mode] });
    },
    isPrivileged: async () => options.privileged ?? true,
    selfCommand: () =>
      options.self ?? { file: "/opt/e3/node", args: ["/opt/e3/bin/e3-backup-agent.mjs"], standalone: false },
    embeddedAsset: (name) => options.assets?.[name],
  };
  /** The programs run, one string each ("systemctl daemon-reload"). */
  const commands = () => calls.filter((call) => call.call === "exec").map((call) => (call.args as string[]).join(" "));
  return { system, calls, files, modes, commands };
}
