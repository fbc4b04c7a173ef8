import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { agentPaths, readAgentConfig, writeAgentConfig } from "./config.ts";

const dir = await mkdtemp(join(tmpdir(), "e3-agent-config-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const config = {
  server: "https://portal.example",
  agentId: "0b5e3c1e-8a3a-4f6e-9f00-1c2d3e4f5a6b",
  agentToken: "e3agt_secret",
};

describe("agent.conf", () => {
  it("is written readable by its owner only, replaced whole, and read back validated", async () => {
    const file = join(dir, "etc", "agent.conf");
    const umask = process.umask(0o022);
    try {
      await writeAgentConfig(file, config);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      await writeAgentConfig(file, { ...config, agentToken: "e3agt_replaced" });
    } finally {
      process.umask(umask);
    }
    expect(await readAgentConfig(file)).toEqual({ ...config, agentToken: "e3agt_replaced" });
    expect(await readdir(join(dir, "etc"))).toEqual(["agent.conf"]);
  });

  it("says how to fix a missing or damaged config", async () => {
    await expect(readAgentConfig(join(dir, "missing.conf"))).rejects.toThrow(/enroll this machine first/);
    const damaged = join(dir, "damaged.conf");
    await writeFile(damaged, JSON.stringify({ ...config, agentId: "nope" }));
    await expect(readAgentConfig(damaged)).rejects.toThrow(/agentId must be the uuid.*enroll again/);
    await writeFile(damaged, "{");
    await expect(readAgentConfig(damaged)).rejects.toThrow(/not valid JSON/);
  });

  it("lives in /etc/e3backup or ProgramData\\E3Backup unless the environment moves it", () => {
    expect(agentPaths({}, "linux")).toEqual({
      configFile: "/etc/e3backup/agent.conf",
      stateDir: "/var/lib/e3backup",
      logFile: "/var/log/e3backup/agent.log",
      pollSeconds: 15,
    });
    // Runs (the seed's %PROGRAMDATA%\E3Backup\runs) go under <state>\runs.
    expect(agentPaths({ PROGRAMDATA: "D:\\Data" }, "win32")).toEqual({
      configFile: "D:\\Data\\E3Backup\\agent.conf",
      stateDir: "D:\\Data\\E3Backup",
      logFile: "D:\\Data\\E3Backup\\logs\\agent.log",
      pollSeconds: 15,
    });
    expect(agentPaths({ E3_AGENT_CONFIG: "/srv/a/agent.conf", E3_AGENT_POLL_SECONDS: "2" }, "linux")).toEqual({
      configFile: "/srv/a/agent.conf",
      stateDir: "/srv/a/state",
      logFile: "/srv/a/state/logs/agent.log",
      pollSeconds: 2,
    });
    expect(agentPaths({ E3_AGENT_LOG: "/tmp/agent.log" }, "linux").logFile).toBe("/tmp/agent.log");
    expect(() => agentPaths({ E3_AGENT_POLL_SECONDS: "soon" }, "linux")).toThrow(/E3_AGENT_POLL_SECONDS/);
  });
});
