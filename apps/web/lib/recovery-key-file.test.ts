import { describe, expect, it } from "vitest";
import { recoveryKeyFile, recoveryKeyFileName, resticRepository } from "./recovery-key-file.ts";

const s3Job = {
  name: "Finance PC: documents",
  destType: "s3" as const,
  destBucket: "acme-backups",
  destPrefix: "/finance/",
  destEndpoint: "https://s3.example.com/",
  destLocalPath: null,
};

describe("recovery key file", () => {
  it("names the repository as restic does, for S3, the provider's default endpoint and a folder", () => {
    expect(resticRepository(s3Job)).toBe("s3:https://s3.example.com/acme-backups/finance");
    expect(resticRepository({ ...s3Job, destEndpoint: null, destPrefix: null })).toBe(
      "s3:<your provider's S3 endpoint>/acme-backups",
    );
    expect(resticRepository({ ...s3Job, destType: "local", destLocalPath: "/mnt/usb/e3" })).toBe("/mnt/usb/e3");
  });

  it("holds the passphrase, the shown-once warning and restore instructions, with a safe file name", () => {
    const text = recoveryKeyFile(
      s3Job,
      { passphrase: "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2", keyId: "3f2a", createdAt: new Date("2026-12-01T10:00:00Z") },
      new Date("2026-12-01T11:00:00Z"),
    );
    expect(text).toContain("\n    ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2\n");
    expect(text).toContain("Key id:       3f2a");
    expect(text).toContain("Created:      2026-12-01T10:00:00.000Z");
    expect(text).toContain("gave this passphrase out once and kept no copy");
    expect(text).toContain("restic -r s3:https://s3.example.com/acme-backups/finance restore latest --target");
    expect(text).toContain("e3-backup-agent restore --repo s3:https://s3.example.com/acme-backups/finance latest");
    expect(recoveryKeyFileName(s3Job.name)).toBe("e3-recovery-finance-pc-documents.txt");
    expect(recoveryKeyFileName("???")).toBe("e3-recovery-job.txt");
  });
});
