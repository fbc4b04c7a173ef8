import { randomBytes } from "node:crypto";
import { chmod, rename, rm, writeFile } from "node:fs/promises";

/**
 * Replaces `file` whole or not at all: written under a temporary name beside it (mode 0600 from its creation,
 * flushed to disk), then renamed over it, so a crash leaves the old file or the new one, never half of either.
 */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: "wx", flush: true });
    // The mode given to open is masked by the umask; set it explicitly.
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
