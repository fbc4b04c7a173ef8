// The text file a customer keeps for an agent-held job: the recovery passphrase and how to use it without the portal
// or the original machine. Pure, so the component test and the unit test see exactly what is downloaded.

export type RecoveryKeyJob = {
  name: string;
  destType: "s3" | "local";
  destBucket: string | null;
  destPrefix: string | null;
  destEndpoint: string | null;
  destLocalPath: string | null;
};

/** The repository as restic names it (`-r`). A job on the provider's default endpoint gets a placeholder for it. */
export function resticRepository(job: RecoveryKeyJob): string {
  if (job.destType === "local") return job.destLocalPath ?? "<the job's folder>";
  const endpoint = (job.destEndpoint ?? "<your provider's S3 endpoint>").replace(/\/+$/, "");
  const prefix = (job.destPrefix ?? "").replace(/^\/+|\/+$/g, "");
  return `s3:${endpoint}/${job.destBucket ?? "<bucket>"}${prefix ? `/${prefix}` : ""}`;
}

export function recoveryKeyFileName(jobName: string): string {
  const slug =
    jobName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "job";
  return `e3-recovery-${slug}.txt`;
}

export function recoveryKeyFile(
  job: RecoveryKeyJob,
  key: { passphrase: string; keyId: string | null; createdAt: Date },
  downloadedAt: Date,
): string {
  const repository = resticRepository(job);
  return [
    "e3 backup: recovery passphrase",
    "==============================",
    "",
    `Job:          ${job.name}`,
    `Repository:   ${repository}`,
    `Key id:       ${key.keyId ?? "(not reported)"}`,
    `Created:      ${key.createdAt.toISOString()}`,
    `Downloaded:   ${downloadedAt.toISOString()}`,
    "",
    "Recovery passphrase:",
    "",
    `    ${key.passphrase}`,
    "",
    "KEEP THIS FILE SAFE. The portal gave this passphrase out once and kept no copy. This job's encryption key",
    "lives only on the machine that made the backups; if that machine or its e3 state folder is lost, this",
    "passphrase is the only way to open the backups. Nobody else, not your provider either, can recover it.",
    "Store it away from the machine it protects: a password manager, or printed and locked away.",
    "",
    "How to use it",
    "-------------",
    "- The repository is a standard restic repository (format v2): restic 0.14 or newer opens it with this",
    "  passphrase. For S3, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the job's keys first.",
    "",
    `    restic -r ${repository} snapshots`,
    `    restic -r ${repository} restore latest --target /path/to/restore`,
    "",
    "  restic asks for the repository password: enter the passphrase above (or put it in a file and pass",
    "  --password-file FILE).",
    "- The e3 agent's own command line works the same way:",
    "",
    `    e3-backup-agent snapshots --repo ${repository} --password-file FILE`,
    `    e3-backup-agent restore --repo ${repository} latest --target /path/to/restore --password-file FILE`,
    "",
  ].join("\n");
}
