import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./log.ts";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: createLogger("test", stream), lines };
}

describe("log redaction", () => {
  it("never writes S3 keys, repository passwords, tokens or cookies, wherever they sit", () => {
    const { logger, lines } = capture();
    const assignment = {
      runId: "r1",
      destination: { bucket: "b", accessKeyId: "AKIA-LEAK", secretAccessKey: "SECRET-LEAK" },
      repository: { encryptionMode: "managed", password: "REPO-PASSWORD-LEAK" },
    };
    logger.info({ run: assignment }, "claimed");
    logger.warn(
      { headers: { "x-agent-token": "e3agt_LEAK", cookie: "session=LEAK", authorization: "Bearer LEAK" } },
      "request",
    );
    logger.error(
      { job: { destSecretKeyEnc: "e3s1.k.LEAK", repoPasswordEnc: "e3s1.k.LEAK2" }, token: "e3enr_LEAK" },
      "job",
    );
    const text = lines.join("");
    expect(text).not.toMatch(/LEAK/);
    expect(text).toContain('"bucket":"b"');
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(9);
  });
});
