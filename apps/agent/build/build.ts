import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { nodeBinary, nodeVersion, nodeWindowsVersion, type Target, winswBinary } from "./node-binaries.ts";
import { isX64Executable, parsePe, withoutSignature } from "./pe.ts";

// pnpm build:agent [--bundle-only] [--target linux-x64|win-x64]...
//
// 1. esbuild bundles the agent (CLI, engine, AWS SDK, zod, the status page with Alpine.js) into one CommonJS file,
//    dist/agent/e3-backup-agent.cjs, runnable with `node` on its own (what --bundle-only stops at). The sealing
//    threads' code is bundled separately and embedded as a string: an executable has no worker file beside it.
// 2. For each target, Node's single executable application tooling turns it into a blob (the Windows one also
//    carries WinSW, the service wrapper), postject injects the blob into that platform's Node binary from the npm
//    registry, and SHA256SUMS lists the results. Each executable is checked before the build says it is done.

const require = createRequire(import.meta.url);
const agentRoot = join(import.meta.dirname, "..");
export const repositoryRoot = join(agentRoot, "..", "..");
/** Resolves the engine's own dependencies (what its modules import). */
const engineRequire = createRequire(join(repositoryRoot, "packages", "engine", "package.json"));
export const distDir = join(repositoryRoot, "dist", "agent");
const cacheDir = join(repositoryRoot, "node_modules", ".cache", "e3-agent-build");
const seaFuse = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

export const executableNames: Record<Target, string> = {
  "linux-x64": "e3-backup-agent-linux-x64",
  "win-x64": "e3-backup-agent-win-x64.exe",
};
export const bundleFile = join(distDir, "e3-backup-agent.cjs");
/**
 * Node options the executables start with (the SEA's execArgv; the benchmarks pass them to the bundle too). A 4 MiB
 * semi-space instead of V8's 16 MiB: a restore of 20 000 files peaked at 338-350 MiB instead of 421-434 MiB, for
 * 0.2-0.4 s more CPU in 4.6 s (more frequent, smaller scavenges); a backup's peak did not change.
 */
export const agentNodeOptions = ["--max-semi-space-size=4"];

type Say = (line: string) => void;

async function timed<T>(say: Say, what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  say(`${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return result;
}

/** The agent as one CommonJS file (Node's single executable applications run a CommonJS script). */
export async function bundleAgent(say: Say = () => {}): Promise<string> {
  const version = (JSON.parse(await readFile(join(agentRoot, "package.json"), "utf8")) as { version: string }).version;
  const zstdWasm = await readFile(join(dirname(engineRequire.resolve("@bokuweb/zstd-wasm")), "zstd.wasm"));
  const common = {
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node24",
    // Folding the build-time constants below drops the branches that read files beside the sources.
    minifySyntax: true,
    legalComments: "none",
    logLevel: "warning",
    // The modules that read import.meta (files beside the sources) do so only in branches the constants fold away;
    // that nothing else does is checked on the output below.
    logOverride: { "empty-import-meta": "silent" },
    // The engine's zstd for small blobs (packages/engine/src/repository/zstd.ts), as no file beside the executable.
    define: { __E3_ZSTD_WASM__: JSON.stringify(zstdWasm.toString("base64")) },
  } as const;
  const worker = await build({
    ...common,
    entryPoints: [join(repositoryRoot, "packages", "engine", "src", "repository", "blob-sealer.worker.ts")],
    write: false,
  });
  const workerSource = worker.outputFiles[0]?.text;
  if (!workerSource) throw new Error("esbuild produced no sealing worker");
  await mkdir(distDir, { recursive: true });
  const result = await build({
    ...common,
    entryPoints: [join(agentRoot, "src", "cli", "main.ts")],
    outfile: bundleFile,
    define: {
      ...common.define,
      __E3_AGENT_VERSION__: JSON.stringify(version),
      __E3_SEALER_WORKER_SOURCE__: JSON.stringify(workerSource),
      __E3_ALPINE_SOURCE__: JSON.stringify(await readFile(require.resolve("alpinejs/dist/cdn.min.js"), "utf8")),
    },
    metafile: true,
  });
  const source = await readFile(bundleFile, "utf8");
  if (source.includes("import_meta")) {
    throw new Error("a module of the agent reads import.meta at run time, which a single-file build does not have");
  }
  // esbuild escapes non-ASCII characters in code but copies comments as they are written, and one such character
  // makes V8 keep the whole script as a two-byte string: 2 bytes per character instead of 1, about 5.6 MiB more in
  // every agent process. Only comments can hold them, so they are escaped there harmlessly.
  const ascii = source.replace(/[^ -~\t\n\r]/gu, (character) => `\\u{${character.codePointAt(0)?.toString(16)}}`);
  if (ascii !== source) await writeFile(bundleFile, ascii);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  say(`bundled the agent ${version} into ${bundleFile} (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
  return bundleFile;
}

/**
 * Node's arguments for running the agent as the executables run it (the bundle, freshly built, with their Node
 * options) or from its sources: what the benchmarks measure.
 */
export async function agentArguments(from: "bundle" | "sources"): Promise<string[]> {
  return from === "bundle"
    ? [...agentNodeOptions, await bundleAgent()]
    : [join(agentRoot, "bin", "e3-backup-agent.mjs")];
}

/** Where the last build left the blob it injected into the target's executable. */
export function blobFile(target: Target): string {
  return join(cacheDir, "work", `sea-${target}.blob`);
}

/** The SEA blob of the bundle for one target, made by that Node version's own tooling. */
async function seaBlob(target: Target, bundle: string, say: Say): Promise<string> {
  const work = join(cacheDir, "work");
  await mkdir(work, { recursive: true });
  const config = join(work, `sea-${target}.json`);
  const output = blobFile(target);
  const assets: Record<string, string> = target === "win-x64" ? { "winsw.exe": await winswBinary(cacheDir, say) } : {};
  await writeFile(
    config,
    JSON.stringify({
      // Relative, so the blob names the script the same wherever it was built.
      main: basename(bundle),
      output,
      disableExperimentalSEAWarning: true,
      // V8's code cache and startup snapshot are specific to the platform that makes them, and the blob is made here
      // on Linux: the Linux executable gets the code cache (every command starts ~70 ms sooner, 0.05 s instead of
      // 0.12 s for --help), the Windows one compiles the bundle when it starts.
      useSnapshot: false,
      useCodeCache: target === "linux-x64",
      execArgv: agentNodeOptions,
      assets,
    }),
  );
  // The blob must come from the Node version that runs it: the Linux one of the same version makes both.
  const node = await nodeBinary(cacheDir, "linux-x64", say);
  const made = spawnSync(node, ["--experimental-sea-config", config], { encoding: "utf8", cwd: dirname(bundle) });
  if (made.status !== 0) throw new Error(`node --experimental-sea-config failed: ${made.stderr || made.error}`);
  return output;
}

/** Injects the blob into the target's Node binary and checks the result. */
async function executable(target: Target, blob: string, say: Say): Promise<string> {
  const out = join(distDir, executableNames[target]);
  await rm(out, { force: true });
  const node = await nodeBinary(cacheDir, target, say);
  if (target === "win-x64") await writeFile(out, withoutSignature(await readFile(node)));
  else await copyFile(node, out);
  // postject's CLI in a process of its own: its injection is synchronous WebAssembly, so two targets in one process
  // would take turns instead of using a core each.
  const cli = join(dirname(require.resolve("postject")), "cli.js");
  const args = [cli, out, "NODE_SEA_BLOB", blob, "--sentinel-fuse", seaFuse, "--overwrite"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    // LIEF complains about Node's unnamed note sections on every build; nothing is wrong with them.
    stderr += chunk.toString().replace(/^warning: Can't find string offset for section name.*\n/gm, "");
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (status !== 0) throw new Error(`postject failed on ${out}: ${stderr.trim()}`);
  await checkExecutable(target, out, await readFile(blob));
  return out;
}

/** The executable carries our blob and its fuse is flipped (what makes Node run the blob instead of its CLI). */
export async function checkExecutable(target: Target, file: string, blob?: Buffer): Promise<void> {
  const bytes = await readFile(file);
  if (!bytes.includes(`${seaFuse}:1`)) throw new Error(`${file}: the single-executable fuse is not set`);
  if (target === "win-x64") {
    const image = parsePe(bytes);
    if (!isX64Executable(image)) throw new Error(`${file} is not an x64 Windows executable`);
    const resource = image.rcdata("NODE_SEA_BLOB");
    if (!resource) throw new Error(`${file} has no NODE_SEA_BLOB resource`);
    if (blob && !resource.equals(blob)) throw new Error(`${file}: its NODE_SEA_BLOB resource is not the blob built`);
  } else if (bytes.readUInt32BE(0) !== 0x7f454c46) {
    throw new Error(`${file} is not an ELF executable`);
  } else if (blob && !bytes.includes(blob.subarray(0, 4096))) {
    throw new Error(`${file} does not carry the blob built`);
  }
}

export async function buildAgent(options: { targets: Target[]; bundleOnly: boolean; say: Say }): Promise<string[]> {
  const { say } = options;
  const bundle = await timed(say, "bundle", () => bundleAgent(say));
  if (options.bundleOnly) return [bundle];
  // An executable whose stamp names this bundle, Node and WinSW is already what this build would make.
  const stamp = `${createHash("sha256")
    .update(await readFile(bundle))
    .digest("hex")} node ${nodeVersion} node-windows ${nodeWindowsVersion}\n`;
  const stampFile = (target: Target) => join(distDir, `.${executableNames[target]}.stamp`);
  const stale: Target[] = [];
  for (const target of options.targets) {
    const current = await readFile(stampFile(target), "utf8").catch(() => "");
    const present = await stat(join(distDir, executableNames[target])).catch(() => undefined);
    if (current === stamp && present) say(`${target}: ${executableNames[target]} is up to date`);
    else stale.push(target);
  }
  // The node binaries first (a download on the first build), then the targets at once: injection is most of the
  // build's time, and one process each.
  for (const target of stale) await nodeBinary(cacheDir, target, say);
  await Promise.all(
    stale.map(async (target) => {
      await rm(stampFile(target), { force: true });
      const blob = await seaBlob(target, bundle, say);
      await timed(say, `${target}: ${executableNames[target]}`, () => executable(target, blob, say));
      await writeFile(stampFile(target), stamp);
    }),
  );
  const outputs = options.targets.map((target) => join(distDir, executableNames[target]));
  const sums: string[] = [];
  for (const name of Object.values(executableNames)) {
    const file = join(distDir, name);
    const bytes = await readFile(file).catch(() => undefined);
    if (bytes) sums.push(`${createHash("sha256").update(bytes).digest("hex")}  ${name}\n`);
  }
  await writeFile(join(distDir, "SHA256SUMS"), sums.join(""));
  say(`wrote ${outputs.length} executable(s) with Node ${nodeVersion} and SHA256SUMS to ${distDir}`);
  return outputs;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { "bundle-only": { type: "boolean", default: false }, target: { type: "string", multiple: true } },
  });
  const targets = (values.target ?? ["linux-x64", "win-x64"]).map((target) => {
    if (target !== "linux-x64" && target !== "win-x64") {
      throw new Error(`--target must be linux-x64 or win-x64, not ${JSON.stringify(target)}`);
    }
    return target;
  });
  const started = performance.now();
  await buildAgent({
    targets,
    bundleOnly: values["bundle-only"],
    say: (line) => process.stdout.write(`build:agent: ${line}\n`),
  });
  process.stdout.write(`build:agent: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
