import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { applyMigrations, createDatabase, formatSeedResult, resolveDatabase, seedDatabase } from "@e3/db";

// What `npm start` runs once everything is built: the database (embedded unless DATABASE_URL is set), migrations,
// the first accounts, then the portal and the worker as child processes sharing that database. Ctrl-C stops all.

const root = join(import.meta.dirname, "..");
const port = Number(process.env.PORT ?? 3000);
const host = process.env.E3_HOST ?? "127.0.0.1";
const children: ChildProcess[] = [];
let shuttingDown = false;

const database = await resolveDatabase();
console.log(
  database.embedded
    ? `database: embedded PostgreSQL (PGlite) in ${database.embedded.dataDir}`
    : "database: PostgreSQL from DATABASE_URL",
);
const migrations = await applyMigrations(database.url, { log: (line) => console.log(line) });
console.log(`database: ${migrations.applied.length} migrations applied, ${migrations.alreadyApplied.length} already`);
const db = createDatabase(database.url, { poolSize: 1 });
console.log(formatSeedResult(await seedDatabase(db)));
await db.$disconnect();

/**
 * The server key that seals secrets at rest. Operators set E3_SECRET_KEY; for a one-machine start we create one
 * beside the embedded database (mode 0600) so secrets survive restarts. Losing it makes stored secrets unreadable.
 */
async function serverSecretKey(): Promise<string> {
  if (process.env.E3_SECRET_KEY) return process.env.E3_SECRET_KEY;
  const dataDir = process.env.E3_DATA_DIR ?? join(root, ".data");
  const file = join(dataDir, "secret.key");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString("base64");
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  console.log(`secrets: created the server key ${file}; back it up with the database`);
  return key;
}

const childEnv = {
  ...process.env,
  DATABASE_URL: database.url,
  E3_SECRET_KEY: await serverSecretKey(),
  NEXT_TELEMETRY_DISABLED: "1",
};

function startChild(name: string, command: string, args: string[], cwd: string) {
  const child = spawn(command, args, { cwd, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => `[${name}] ${line}\n`)
      .join("");
  child.stdout?.on("data", (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(prefix(chunk)));
  child.on("exit", (code, signal) => {
    if (shuttingDown) return;
    console.error(`${name} exited (${signal ?? `code ${code}`}); stopping e3`);
    void shutdown(1);
  });
  children.push(child);
}

async function shutdown(exitCode: number) {
  if (shuttingDown) return;
  shuttingDown = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
          child.once("exit", () => {
            clearTimeout(force);
            resolve();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
  await database.embedded?.stop();
  process.exit(exitCode);
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

const nextBin = join(root, "apps", "web", "node_modules", "next", "dist", "bin", "next");
startChild(
  "web",
  process.execPath,
  [nextBin, "start", "--port", String(port), "--hostname", host],
  join(root, "apps", "web"),
);
startChild("worker", process.execPath, [join(root, "packages", "api", "src", "worker", "main.ts")], root);

const url = `http://${host === "0.0.0.0" ? "localhost" : host}:${port}`;
for (let attempt = 0; attempt < 120 && !shuttingDown; attempt++) {
  const healthy = await fetch(`${url}/api/health`)
    .then((response) => response.ok)
    .catch(() => false);
  if (healthy) {
    console.log(`\ne3 is running: ${url}  (Ctrl-C stops the portal, the worker and the database)\n`);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
