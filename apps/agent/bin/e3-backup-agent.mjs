#!/usr/bin/env node
// Launches the agent's TypeScript entry point, which needs Node 24 (type stripping). Under an older system Node it
// re-runs itself with the Node 24 that the README's setup placed in .tools/ at the repository root.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, "..", "src", "cli", "main.ts");

if (Number.parseInt(process.versions.node, 10) >= 24) {
  await import(pathToFileURL(entry).href);
} else {
  const platform = { linux: "linux", win32: "win", darwin: "darwin" }[process.platform];
  const binary = process.platform === "win32" ? "node.exe" : join("bin", "node");
  const node = join(here, "..", "..", "..", ".tools", "node_modules", `node-${platform}-${process.arch}`, binary);
  if (!existsSync(node)) {
    process.stderr.write(
      `e3-backup-agent: needs Node 24 or newer (found ${process.version}); run 'npm run setup' first\n`,
    );
    process.exit(1);
  }
  const result = spawnSync(node, [entry, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
