import { describe, expect, it } from "vitest";
import { ConfigError, readServerConfig } from "./config.ts";

describe("readServerConfig", () => {
  it("applies the seed's defaults", () => {
    expect(readServerConfig({ DATABASE_URL: "postgresql://x/y" })).toEqual({
      DATABASE_URL: "postgresql://x/y",
      AGENT_WATCHDOG_TIMEOUT_SECONDS: 720,
      AGENT_RECLAIM_GRACE_SECONDS: 180,
      WORKER_TICK_SECONDS: 10,
      E3_PUBLIC_URL: "http://127.0.0.1:3000",
      SMTP_FROM: "e3 backup <no-reply@localhost>",
      E3_SESSION_IDLE_MINUTES: 30,
      E3_ALLOWED_S3_ENDPOINTS: [],
    });
  });

  it("reads the allowed S3 endpoints as origins and names a bad entry", () => {
    const config = readServerConfig({
      DATABASE_URL: "postgresql://x/y",
      E3_ALLOWED_S3_ENDPOINTS: "http://127.0.0.1:19000, https://MinIO.lan/ ,",
    });
    expect(config.E3_ALLOWED_S3_ENDPOINTS).toEqual(["http://127.0.0.1:19000", "https://minio.lan:443"]);
    expect(() =>
      readServerConfig({ DATABASE_URL: "postgresql://x/y", E3_ALLOWED_S3_ENDPOINTS: "10.0.0.5:9000" }),
    ).toThrow(/E3_ALLOWED_S3_ENDPOINTS: "10.0.0.5:9000" is not an http\(s\) URL/);
  });

  it("refuses an idle timeout that is not a whole number of minutes", () => {
    expect(() => readServerConfig({ DATABASE_URL: "postgresql://x/y", E3_SESSION_IDLE_MINUTES: "0" })).toThrow(
      /E3_SESSION_IDLE_MINUTES: must be at least 1 minute/,
    );
  });

  it("refuses a reclaim grace that is not shorter than the watchdog timeout, naming the variable", () => {
    const read = () =>
      readServerConfig({
        DATABASE_URL: "postgresql://x/y",
        AGENT_WATCHDOG_TIMEOUT_SECONDS: "300",
        AGENT_RECLAIM_GRACE_SECONDS: "300",
      });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/AGENT_RECLAIM_GRACE_SECONDS must be less than AGENT_WATCHDOG_TIMEOUT_SECONDS/);
  });

  it("names a missing database URL and a non-numeric timeout", () => {
    expect(() => readServerConfig({ AGENT_WATCHDOG_TIMEOUT_SECONDS: "soon" })).toThrow(
      /DATABASE_URL: is required.*AGENT_WATCHDOG_TIMEOUT_SECONDS: must be a whole number of seconds/,
    );
  });
});
