import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { fakeSystem } from "./fake-system.ts";
import { linuxLocations, linuxPlatform, systemdUnit, unitPath } from "./linux.ts";

// The Linux platform with its system calls faked (fake-system.ts records every program it would run), plus the unit
// it writes checked by the real systemd-analyze.

const exec = promisify(execFile);
const locations = linuxLocations();
const dir = await mkdtemp(join(tmpdir(), "e3-platform-linux-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const noUser = (file: string, args: string[]) =>
  file === "getent" && args[1] === "e3backup" ? { code: 2 } : undefined;

describe("service install on Linux", () => {
  it("creates the e3backup system user, hands it the agent's folders and starts a hardened unit", async () => {
    const fake = fakeSystem({ answer: noUser, files: { [locations.configFile]: "{}" } });
    const said: string[] = [];
    await linuxPlatform(fake.system).installService({ locations }, (line) => said.push(line));
    expect(fake.commands()).toEqual([
      "getent passwd e3backup",
      "useradd --system --user-group --home-dir /var/lib/e3backup --no-create-home --shell /usr/sbin/nologin --comment e3 backup agent e3backup",
      "chown -R e3backup:e3backup /etc/e3backup /var/lib/e3backup /var/log/e3backup",
      "chmod 0750 /etc/e3backup /var/lib/e3backup /var/log/e3backup",
      "chmod 0600 /etc/e3backup/agent.conf",
      "systemctl daemon-reload",
      "systemctl enable --now e3-backup-agent.service",
    ]);
    expect(fake.modes.get(unitPath)).toBe(0o644);
    const unit = fake.files.get(unitPath)?.toString() ?? "";
    expect(unit).toContain("ExecStart=/opt/e3/node /opt/e3/bin/e3-backup-agent.mjs run\n");
    expect(unit).toContain("User=e3backup\n");
    expect(unit).toContain("AmbientCapabilities=CAP_DAC_READ_SEARCH");
    expect(unit).toContain("Restart=on-failure\n");
    expect(unit).toContain("NoNewPrivileges=yes\n");
    expect(unit).toContain("Environment=E3_AGENT_CONFIG=/etc/e3backup/agent.conf\n");
    expect(said.join("\n")).toMatch(/created the system user e3backup[\s\S]*enabled and started/);
  });

  it("installs a single executable to /usr/local/bin and reuses an existing user", async () => {
    const fake = fakeSystem({
      self: { file: "/home/me/Downloads/e3-backup-agent-linux-x64", args: [], standalone: true },
    });
    await linuxPlatform(fake.system).installService({ locations }, () => {});
    expect(fake.commands()).not.toContain(expect.stringMatching(/^useradd/));
    expect(fake.calls).toContainEqual({
      call: "copyFile",
      args: ["/home/me/Downloads/e3-backup-agent-linux-x64", "/usr/local/bin/e3-backup-agent", 0o755],
    });
    expect(fake.files.get(unitPath)?.toString()).toContain("ExecStart=/usr/local/bin/e3-backup-agent run\n");
  });

  it("runs as root when asked, without ambient capabilities", async () => {
    const fake = fakeSystem();
    await linuxPlatform(fake.system).installService({ locations, account: "root" }, () => {});
    const unit = fake.files.get(unitPath)?.toString() ?? "";
    expect(unit).not.toContain("User=");
    expect(unit).not.toContain("AmbientCapabilities");
    expect(fake.commands()).toContain("chown -R root:root /etc/e3backup /var/lib/e3backup /var/log/e3backup");
  });

  it("refuses without root, or a bad account name, before touching anything", async () => {
    const fake = fakeSystem({ privileged: false });
    await expect(linuxPlatform(fake.system).installService({ locations }, () => {})).rejects.toMatchObject({
      code: "PLATFORM_NOT_PRIVILEGED",
      message: expect.stringMatching(/needs root: run it with sudo/),
    });
    const bad = fakeSystem();
    await expect(
      linuxPlatform(bad.system).installService({ locations, account: "x; rm -rf /" }, () => {}),
    ).rejects.toMatchObject({ code: "PLATFORM_BAD_ACCOUNT" });
    expect([...fake.calls, ...bad.calls]).toEqual([]);
  });

  it("names the command that failed and what it said", async () => {
    const fake = fakeSystem({
      answer: (file, args) =>
        file === "systemctl" && args[0] === "enable"
          ? { code: 1, stderr: "Failed to enable unit: Access denied\n" }
          : undefined,
    });
    await expect(linuxPlatform(fake.system).installService({ locations }, () => {})).rejects.toThrow(
      "systemctl enable --now e3-backup-agent.service failed (exit code 1): Failed to enable unit: Access denied",
    );
  });
});

describe("service uninstall and status on Linux", () => {
  it("stops, disables and removes the unit but keeps the config and state", async () => {
    const fake = fakeSystem({ files: { [unitPath]: "[Unit]\n" } });
    const said: string[] = [];
    await linuxPlatform(fake.system).uninstallService((line) => said.push(line));
    expect(fake.commands()).toEqual(["systemctl disable --now e3-backup-agent.service", "systemctl daemon-reload"]);
    expect(fake.files.has(unitPath)).toBe(false);
    expect(said[0]).toMatch(/agent.conf, the state and the e3backup user are kept/);

    const none = fakeSystem();
    const nothing: string[] = [];
    await linuxPlatform(none.system).uninstallService((line) => nothing.push(line));
    expect(nothing).toEqual(["e3-backup-agent.service is not installed"]);
    expect(none.commands()).toEqual([]);
  });

  it("reads systemctl show", async () => {
    const running = fakeSystem({
      answer: () => ({
        stdout: "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=4242\n",
      }),
    });
    expect(await linuxPlatform(running.system).serviceStatus()).toEqual({
      installed: true,
      running: true,
      detail: "active (running), enabled, pid 4242",
    });
    expect(running.commands()).toEqual([
      "systemctl show e3-backup-agent.service --property=LoadState,ActiveState,SubState,UnitFileState,MainPID",
    ]);
    const missing = fakeSystem({
      answer: () => ({
        stdout: "LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nMainPID=0\n",
      }),
    });
    expect(await linuxPlatform(missing.system).serviceStatus()).toEqual({
      installed: false,
      running: false,
      detail: "not installed",
    });
  });
});

describe("the source picker on Linux", () => {
  it("lists real file systems from df, mount points with spaces included", async () => {
    const fake = fakeSystem({
      answer: () => ({
        stdout:
          "Type     1B-blocks         Avail Mounted on\n" +
          "ext4  105089261568   48038428672 /\n" +
          "vfat     535805952     529559552 /boot/efi\n" +
          "ext4 2000000000000 1000000000000 /mnt/backup disk\n",
      }),
    });
    expect(await linuxPlatform(fake.system).listDrives()).toEqual([
      { path: "/", fileSystem: "ext4", totalBytes: 105089261568, freeBytes: 48038428672 },
      { path: "/boot/efi", fileSystem: "vfat", totalBytes: 535805952, freeBytes: 529559552 },
      { path: "/mnt/backup disk", fileSystem: "ext4", totalBytes: 2000000000000, freeBytes: 1000000000000 },
    ]);
  });
});

describe("the systemd unit", () => {
  const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((path) => existsSync(path));
  // systemd-analyze verify exits 0 even for unknown keys; what it says about the file is what counts.
  async function verify(unit: string): Promise<string[]> {
    const root = await mkdtemp(join(dir, "root-"));
    const file = join(root, "etc", "systemd", "system", "e3-backup-agent.service");
    await mkdir(join(root, "etc", "systemd", "system"), { recursive: true });
    await writeFile(file, unit);
    const result = await exec(analyze as string, ["verify", file]).catch((error: { stderr: string }) => error);
    return result.stderr.split("\n").filter((line) => line.includes(file) || line.includes("e3-backup-agent.service"));
  }

  it.runIf(analyze !== undefined)("passes systemd-analyze verify without a complaint", async () => {
    const unit = systemdUnit({
      command: [process.execPath, join(import.meta.dirname, "..", "..", "bin", "e3-backup-agent.mjs")],
      user: "e3backup",
      locations,
    });
    expect(await verify(unit)).toEqual([]);
    // The check itself can fail: a misspelt key is reported.
    expect(await verify(unit.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"))).toEqual([
      expect.stringMatching(/Unknown key 'NoNewPrivilege'/),
    ]);
  });
});
