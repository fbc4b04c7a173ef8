#!/usr/bin/env node
// The README's two commands land here: `npm start` and `npm test`.
// It runs on any Node >= 20 with npm. When the running Node is older than 24 it installs Node 24 and pnpm from the
// npm registry into the git-ignored .tools/ folder (nothing global changes), then re-runs the request under them.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tools = join(root, ".tools");
const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pnpmVersion = rootPackage.packageManager.replace(/^pnpm@/, "");
const requiredNodeMajor = 24;

const tasks = {
  // Installs, migrates the embedded database, builds, and serves the portal with its worker.
  start: ["run", "start:all"],
  // Every test suite, with the real services the suites need.
  test: ["run", "test:all"],
  // Only the installation, for developers and CI steps that need node_modules.
  setup: null,
};

function fail(message) {
  process.stderr.write(`e3 bootstrap: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root, ...options });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  return result.status ?? 1;
}

function nodeMajor(version) {
  return Number.parseInt(version.replace(/^v/, "").split(".")[0], 10);
}

function platformNodePackage() {
  const names = { linux: "linux", win32: "win", darwin: "darwin" };
  const os = names[process.platform];
  if (!os) fail(`no Node ${requiredNodeMajor} package for platform ${process.platform}; install Node 24 yourself`);
  return `node-${os}-${process.arch}@${requiredNodeMajor}`;
}

function localNodeBinary() {
  const bin = process.platform === "win32" ? "node.exe" : join("bin", "node");
  return join(tools, "node_modules", platformNodePackage().replace(/@\d+$/, ""), bin);
}

function ensureTools() {
  const localNode = localNodeBinary();
  const pnpmEntry = join(tools, "node_modules", "pnpm", "bin", "pnpm.cjs");
  const marker = join(tools, "versions.json");
  const wanted = JSON.stringify({ node: platformNodePackage(), pnpm: pnpmVersion });
  const useSystemNode = nodeMajor(process.version) >= requiredNodeMajor;
  const haveLocal = existsSync(marker) && readFileSync(marker, "utf8") === wanted && existsSync(pnpmEntry);
  if (!haveLocal) {
    mkdirSync(tools, { recursive: true });
    const packages = [`pnpm@${pnpmVersion}`];
    if (!useSystemNode) packages.push(platformNodePackage());
    process.stdout.write(`e3 bootstrap: installing ${packages.join(" and ")} into .tools/\n`);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const status = run(
      npm,
      ["install", "--prefix", tools, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", ...packages],
      { shell: process.platform === "win32" },
    );
    if (status !== 0) fail("npm could not install Node 24 and pnpm; check that the npm registry is reachable");
    writeFileSync(marker, wanted);
  }
  const node = useSystemNode ? process.execPath : localNode;
  if (!existsSync(node)) fail(`expected Node ${requiredNodeMajor} at ${node}; delete .tools/ and try again`);
  return { node, pnpmEntry };
}

function installIfStale({ node, pnpmEntry }, env) {
  const lockfile = join(root, "pnpm-lock.yaml");
  const installedMarker = join(root, "node_modules", ".modules.yaml");
  const stale =
    !existsSync(installedMarker) ||
    (existsSync(lockfile) && statSync(lockfile).mtimeMs > statSync(installedMarker).mtimeMs);
  if (!stale) return;
  const frozen = process.env.CI ? ["--frozen-lockfile"] : [];
  if (run(node, [pnpmEntry, "install", ...frozen], { env }) !== 0) fail("pnpm install failed");
}

const task = process.argv[2] ?? "setup";
if (!(task in tasks)) fail(`unknown task "${task}"; use one of ${Object.keys(tasks).join(", ")}`);

const toolchain = ensureTools();
const binDir = dirname(toolchain.node);
const env = {
  ...process.env,
  // Node 24 first, then pnpm (and node) from .tools, then the workspace's own binaries.
  PATH: [binDir, join(tools, "node_modules", ".bin"), join(root, "node_modules", ".bin"), process.env.PATH].join(
    process.platform === "win32" ? ";" : ":",
  ),
  npm_config_engine_strict: "false",
};
installIfStale(toolchain, env);
const pnpmArgs = tasks[task];
if (pnpmArgs) process.exit(run(toolchain.node, [toolchain.pnpmEntry, ...pnpmArgs, ...process.argv.slice(3)], { env }));
