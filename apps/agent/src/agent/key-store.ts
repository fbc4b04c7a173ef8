import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomically } from "./atomic-file.ts";

// The agent's own key store for jobs in encryption_mode=agent: the repository password is made here on the first run
// and never leaves the machine (the portal only ever sees `password: null`). A second key, the recovery passphrase,
// opens the same repository; it is written beside the password so the customer can still restore when this machine
// is gone, once they have downloaded it (the agent reports it once, see docs/agent-api.md). Each job's keys are one
// JSON file under <state>/keys, mode 0600 in a 0700 folder, replaced atomically.

const keyFileSchema = z.strictObject({
  jobId: z.uuid(),
  /** The password the agent opens the repository with. */
  password: z.string().min(32),
  /** The second key; kept so the agent can report it again if the first report never arrived. */
  recoveryPassphrase: z.string().min(16),
  /** The repository's key file ids of the two keys, once the repository holds them. */
  keyId: z.string().nullable(),
  recoveryKeyId: z.string().nullable(),
  /** When the portal acknowledged the recovery passphrase (its event stored); null until then. */
  recoveryReportedAt: z.iso.datetime({ offset: true }).nullable(),
  createdAt: z.iso.datetime({ offset: true }),
});
export type JobKeys = z.infer<typeof keyFileSchema>;

export class KeyStoreError extends Error {
  readonly code = "AGENT_KEY_MISSING";
}

export function keysFolder(stateDir: string): string {
  return join(stateDir, "keys");
}

function keyFile(stateDir: string, jobId: string): string {
  if (!/^[0-9a-f-]{36}$/i.test(jobId)) throw new Error(`${jobId} is not a job id`);
  return join(keysFolder(stateDir), `job-${jobId.toLowerCase()}.json`);
}

/** The job's keys, or null when this agent has none for it (the repository was never created here). */
export async function readJobKeys(stateDir: string, jobId: string): Promise<JobKeys | null> {
  const file = keyFile(stateDir, jobId);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new KeyStoreError(
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error}); run the agent as the account that created it`,
    );
  }
  const parsed = keyFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new KeyStoreError(
      `${file} is damaged (${parsed.error.issues[0]?.message}); restore it from a copy, or open the repository with the job's recovery passphrase`,
    );
  }
  return parsed.data;
}

export async function writeJobKeys(stateDir: string, keys: JobKeys): Promise<void> {
  await mkdir(keysFolder(stateDir), { recursive: true, mode: 0o700 });
  await writeFileAtomically(keyFile(stateDir, keys.jobId), `${JSON.stringify(keyFileSchema.parse(keys), null, 2)}\n`);
}

/** Groups of five from an alphabet without look-alikes: 25 characters of ~4.9 bits, 120 bits in all. */
export function newRecoveryPassphrase(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = randomBytes(25);
  const chars = [...bytes].map((byte) => alphabet[byte % alphabet.length]);
  const groups: string[] = [];
  for (let index = 0; index < chars.length; index += 5) groups.push(chars.slice(index, index + 5).join(""));
  return groups.join("-");
}

/** Keys for a job about to get its repository: the existing ones, or new ones written before the repository is made. */
export async function jobKeysForNewRepository(stateDir: string, jobId: string): Promise<JobKeys> {
  const existing = await readJobKeys(stateDir, jobId);
  if (existing) return existing;
  const keys: JobKeys = {
    jobId,
    password: randomBytes(32).toString("base64url"),
    recoveryPassphrase: newRecoveryPassphrase(),
    keyId: null,
    recoveryKeyId: null,
    recoveryReportedAt: null,
    createdAt: new Date().toISOString(),
  };
  await writeJobKeys(stateDir, keys);
  return keys;
}

/**
 * The repository password of a job: the portal's (managed mode) or this agent's own (agent mode), AGENT_KEY_MISSING
 * when the agent holds none (the job's repository was made by another machine, or the key store was lost).
 */
export async function jobPassword(
  stateDir: string,
  job: { jobId: string; repository: { encryptionMode: "managed" | "agent"; password: string | null } },
): Promise<string> {
  if (job.repository.encryptionMode === "managed") {
    if (job.repository.password === null) throw new KeyStoreError("the portal sent no repository password for the job");
    return job.repository.password;
  }
  const keys = await readJobKeys(stateDir, job.jobId);
  if (!keys) {
    throw new KeyStoreError(
      `this agent holds no key for job ${job.jobId} (encryption_mode=agent keeps it on the machine that made the repository); run the job's first backup here, or restore with the recovery passphrase`,
    );
  }
  return keys.password;
}
