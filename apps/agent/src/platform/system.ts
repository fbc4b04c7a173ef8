import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { getAsset, isSea } from "node:sea";
import type { ExecResult, SystemCalls } from "./platform.ts";

// The real door to the operating system (platform.ts); the only module of the platform layer that touches it.

export const realSystem: SystemCalls = {
  exec(file, args, options = {}) {
    return new Promise<ExecResult>((done, fail) => {
      execFile(
        file,
        args,
        {
          encoding: "utf8",
          windowsHide: true,
          maxBuffer: 16 * 2 ** 20,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (error, stdout, stderr) => {
          const code = (error as { code?: unknown } | null)?.code;
          // A program that ran and exited non-zero is a result; one that could not start is an error.
          if (error && typeof code !== "number") fail(error);
          else done({ code: typeof code === "number" ? code : 0, stdout, stderr });
        },
      );
    });
  },
  async writeFile(path, data, mode) {
    await writeFile(path, data, { mode });
    await chmod(path, mode);
  },
  readFile: (path) =>
    readFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    }),
  async copyFile(from, to, mode) {
    await copyFile(from, to);
    await chmod(to, mode);
  },
  removeFile: (path) => rm(path, { force: true }),
  makeDirectory: async (path, mode) => {
    await mkdir(path, { recursive: true, mode });
  },
  async isPrivileged() {
    if (process.platform !== "win32") return process.getuid?.() === 0;
    // `net session` needs an elevated Administrator and changes nothing.
    const result = await realSystem.exec("net", ["session"]).catch(() => ({ code: 1 }));
    return result.code === 0;
  },
  selfCommand() {
    if (isSea()) return { file: process.execPath, args: [], standalone: true };
    return { file: process.execPath, args: [resolve(process.argv[1] ?? "")], standalone: false };
  },
  embeddedAsset(name) {
    if (!isSea()) return undefined;
    try {
      return Buffer.from(getAsset(name));
    } catch {
      return undefined;
    }
  },
};
