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
 * A secret the portal needs across restarts: from the environment when the operator set it, else created once beside
 * the embedded database (mode 0600). E3_SECRET_KEY seals S3 keys and repository passwords: losing it makes stored
 * secrets unreadable, so back it up with the database. E3_AUTH_SECRET signs sessions.
 */
async function persistentSecret(variable: string, fileName: string): Promise<string> {
  const fromEnv = process.env[variable];
  if (fromEnv) return fromEnv;
  const dataDir = process.env.E3_DATA_DIR ?? join(root, ".data");
  const file = join(dataDir, fileName);
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64");
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  console.log(`secrets: created ${file} (${variable}); back it up with the database`);
  return secret;
}

const childEnv = {
  ...process.env,
  DATABASE_URL: database.url,
  E3_SECRET_KEY: await persistentSecret("E3_SECRET_KEY", "secret.key"),
  E3_AUTH_SECRET: await persistentSecret("E3_AUTH_SECRET", "auth.secret"),
  E3_PUBLIC_URL: process.env.E3_PUBLIC_URL ?? `http://${host === "0.0.0.0" ? "localhost" : host}:${port}`,
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
