import { describe, expect, it } from "vitest";
import { fakeSystem } from "./fake-system.ts";
import { withVolumeSnapshot } from "./platform.ts";
import { parseScQuery, volumeOf, windowsLocations, windowsPlatform, winswConfig } from "./windows.ts";

// The Windows platform with its system calls faked: which programs it would run (icacls, sc.exe, the WinSW wrapper,
// PowerShell for WMI) and with what, and how it reads their answers. None of it runs here.

const env = { PROGRAMDATA: "C:\\ProgramData", ProgramFiles: "C:\\Program Files" };
const locations = windowsLocations(env);
const wrapper = "C:\\ProgramData\\E3Backup\\service\\e3-backup-agent-service.exe";
const standalone = { file: "C:\\Users\\me\\Downloads\\e3-backup-agent-win-x64.exe", args: [], standalone: true };
const winsw = Buffer.from("MZ winsw");

describe("Windows locations", () => {
  it("keep everything under ProgramData\\E3Backup as the seed did", () => {
    expect(locations).toEqual({
      configFile: "C:\\ProgramData\\E3Backup\\agent.conf",
      stateDir: "C:\\ProgramData\\E3Backup",
      logFile: "C:\\ProgramData\\E3Backup\\logs\\agent.log",
    });
  });
});

describe("service install on Windows", () => {
  it("installs the executable, locks the folders down, registers the service through WinSW and starts it", async () => {
    const fake = fakeSystem({ self: standalone, assets: { "winsw.exe": winsw } });
    const said: string[] = [];
    await windowsPlatform(fake.system, env).installService({ locations }, (line) => said.push(line));
    expect(fake.calls).toContainEqual({
      call: "copyFile",
      args: [standalone.file, "C:\\Program Files\\E3Backup\\e3-backup-agent.exe", 0o755],
    });
    expect(fake.commands()).toEqual([
      "icacls.exe C:\\ProgramData\\E3Backup /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F",
      "icacls.exe C:\\ProgramData\\E3Backup\\logs /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F",
      `${wrapper} install`,
      "sc.exe start e3-backup-agent",
      'reg.exe add HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run /v e3-backup-agent-tray /t REG_SZ /d "C:\\Program Files\\E3Backup\\e3-backup-agent.exe" tray /f',
    ]);
    expect(fake.files.get(wrapper)).toEqual(winsw);
    const xml = fake.files.get(wrapper.replace(/\.exe$/, ".xml"))?.toString() ?? "";
    expect(xml).toContain("<executable>C:\\Program Files\\E3Backup\\e3-backup-agent.exe</executable>");
    expect(xml).toContain("<arguments>run</arguments>");
    expect(xml).toContain('<onfailure action="restart" delay="10 sec"/>');
    expect(xml).toContain('<env name="E3_AGENT_CONFIG" value="C:\\ProgramData\\E3Backup\\agent.conf"/>');
    expect(xml).not.toContain("<serviceaccount>");
    expect(said.at(-1)).toMatch(/installed and started \(runs as LocalSystem\)/);
  });

  it("runs as LocalService when asked, which the folders' ACLs then admit", async () => {
    const fake = fakeSystem({ self: standalone, assets: { "winsw.exe": winsw } });
    await windowsPlatform(fake.system, env).installService({ locations, account: "LocalService" }, () => {});
    expect(fake.commands()[0]).toBe(
      "icacls.exe C:\\ProgramData\\E3Backup /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F *S-1-5-19:(OI)(CI)M",
    );
    expect(fake.files.get(wrapper.replace(/\.exe$/, ".xml"))?.toString()).toContain(
      "<serviceaccount>\r\n    <domain>NT AUTHORITY</domain>\r\n    <user>LocalService</user>\r\n  </serviceaccount>",
    );
  });

  it("refuses without elevation, an unknown account, or without the wrapper the executable carries", async () => {
    const notAdmin = fakeSystem({ privileged: false, self: standalone, assets: { "winsw.exe": winsw } });
    await expect(windowsPlatform(notAdmin.system, env).installService({ locations }, () => {})).rejects.toThrow(
      /needs an Administrator/,
    );
    const account = fakeSystem({ self: standalone, assets: { "winsw.exe": winsw } });
    await expect(
      windowsPlatform(account.system, env).installService({ locations, account: "Guest" }, () => {}),
    ).rejects.toMatchObject({ code: "PLATFORM_BAD_ACCOUNT" });
    const fromSources = fakeSystem();
    await expect(
      windowsPlatform(fromSources.system, env).installService({ locations }, () => {}),
    ).rejects.toMatchObject({ code: "PLATFORM_NO_SERVICE_WRAPPER" });
    expect([...notAdmin.calls, ...account.calls, ...fromSources.calls]).toEqual([]);
  });

  it("quotes arguments of an agent run from sources", () => {
    const xml = winswConfig({
      executable: "C:\\Program Files\\nodejs\\node.exe",
      args: ["C:\\src\\e3 & co\\bin\\e3-backup-agent.mjs"],
      account: "LocalSystem",
      locations,
    });
    expect(xml).toContain("<arguments>&quot;C:\\src\\e3 &amp; co\\bin\\e3-backup-agent.mjs&quot; run</arguments>");
  });
});

describe("service status and uninstall on Windows", () => {
  const query = (state: string) =>
    `SERVICE_NAME: e3-backup-agent\r\n        TYPE               : 10  WIN32_OWN_PROCESS\r\n        STATE              : ${state}\r\n`;

  it("reads sc.exe query, 1060 meaning not installed", async () => {
    expect(parseScQuery(query("4  RUNNING"))).toEqual({ code: 4, state: "RUNNING" });
    const running = fakeSystem({ answer: () => ({ stdout: query("4  RUNNING") }) });
    expect(await windowsPlatform(running.system, env).serviceStatus()).toEqual({
      installed: true,
      running: true,
      detail: "running",
    });
    const missing = fakeSystem({ answer: () => ({ code: 1060, stdout: "[SC] OpenService FAILED 1060:" }) });
    expect(await windowsPlatform(missing.system, env).serviceStatus()).toMatchObject({ installed: false });
  });

  it("stops a running service before WinSW removes it", async () => {
    const fake = fakeSystem({
      answer: (_file, args) => (args[0] === "query" ? { stdout: query("4  RUNNING") } : undefined),
    });
    await windowsPlatform(fake.system, env).uninstallService(() => {});
    expect(fake.commands()).toEqual([
      "sc.exe query e3-backup-agent",
      "sc.exe stop e3-backup-agent",
      `${wrapper} uninstall`,
      "reg.exe delete HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run /v e3-backup-agent-tray /f",
    ]);
    expect(fake.calls.filter((call) => call.call === "removeFile").map((call) => call.args[0])).toEqual([
      wrapper,
      wrapper.replace(/\.exe$/, ".xml"),
    ]);
  });
});

describe("the Windows source picker", () => {
  it("offers local, removable and network drives, not optical ones", async () => {
    const disks = [
      {
        DeviceID: "C:",
        VolumeName: "Windows",
        FileSystem: "NTFS",
        Size: 255_000_000_000,
        FreeSpace: 100_000_000_000,
        DriveType: 3,
      },
      { DeviceID: "D:", VolumeName: null, FileSystem: null, Size: null, FreeSpace: null, DriveType: 5 },
      { DeviceID: "E:", VolumeName: "USB", FileSystem: "exFAT", Size: 64_000_000_000, FreeSpace: 0, DriveType: 2 },
    ];
    const fake = fakeSystem({ answer: () => ({ stdout: JSON.stringify(disks) }) });
    expect(await windowsPlatform(fake.system, env).listDrives()).toEqual([
      { path: "C:\\", label: "Windows", fileSystem: "NTFS", totalBytes: 255_000_000_000, freeBytes: 100_000_000_000 },
      { path: "E:\\", label: "USB", fileSystem: "exFAT", totalBytes: 64_000_000_000, freeBytes: 0 },
    ]);
    expect(fake.commands()[0]).toMatch(/^powershell\.exe -NoProfile .*Win32_LogicalDisk/);
    // PowerShell prints one object, not an array, when there is one disk.
    const one = fakeSystem({ answer: () => ({ stdout: JSON.stringify(disks[0]) }) });
    expect(await windowsPlatform(one.system, env).listDrives()).toHaveLength(1);
  });
});

describe("VSS shadow copies", () => {
  const stateDir = locations.stateDir;
  const record = `${stateDir}\\vss-shadow-copies.json`;
  const ids = ["{11111111-2222-3333-4444-555555555555}", "{66666666-7777-8888-9999-000000000000}"];
  const created: string[] = [];
  /** A fake WMI: Create answers the next shadow copy of each volume; Remove-CimInstance succeeds. */
  const wmi = (failOn?: string) => (file: string, args: string[]) => {
    const script = args.at(-1) ?? "";
    if (file !== "powershell.exe") return undefined;
    const volume = /Volume = '([A-Z]:\\)'/.exec(script)?.[1];
    if (volume) {
      if (volume === failOn) return { stdout: "ERROR|6" };
      created.push(volume);
      const n = created.length;
      return { stdout: `${ids[n - 1]}|\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy${n}` };
    }
    return undefined;
  };

  it("snapshots each volume once, maps paths into it and deletes the copies when the work ends", async () => {
    created.length = 0;
    const fake = fakeSystem({ answer: wmi() });
    const platform = windowsPlatform(fake.system, env);
    const mapped = await withVolumeSnapshot(
      platform,
      ["C:\\Users\\me\\Documents", "c:\\Data", "D:\\Photos"],
      stateDir,
      undefined,
      async (snapshot) => {
        // Recorded while in use, so a killed agent can release them later.
        expect(JSON.parse(fake.files.get(record)?.toString() ?? "[]")).toEqual(ids);
        return [
          snapshot.map("C:\\Users\\me\\Documents"),
          snapshot.map("D:\\Photos\\2024"),
          snapshot.map("\\\\nas\\share"),
        ];
      },
    );
    expect(created).toEqual(["C:\\", "D:\\"]);
    expect(mapped).toEqual([
      "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\Users\\me\\Documents",
      "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy2\\Photos\\2024",
      "\\\\nas\\share",
    ]);
    const deletes = fake.commands().filter((command) => command.includes("Remove-CimInstance"));
    expect(deletes).toHaveLength(2);
    expect(deletes[0]).toContain(`ID='${ids[0]}'`);
    expect(fake.files.has(record)).toBe(false);
  });

  it("releases the copies when the work throws, and those already made when a later volume fails", async () => {
    created.length = 0;
    const fake = fakeSystem({ answer: wmi() });
    await expect(
      withVolumeSnapshot(windowsPlatform(fake.system, env), ["C:\\a"], stateDir, undefined, async () => {
        throw new Error("backup failed");
      }),
    ).rejects.toThrow("backup failed");
    expect(fake.commands().filter((command) => command.includes("Remove-CimInstance"))).toHaveLength(1);

    created.length = 0;
    const full = fakeSystem({ answer: wmi("D:\\") });
    await expect(windowsPlatform(full.system, env).snapshotVolumes(["C:\\a", "D:\\b"], stateDir)).rejects.toMatchObject(
      { code: "VSS_FAILED", message: expect.stringMatching(/D:\\ failed: not enough storage/) },
    );
    expect(full.commands().filter((command) => command.includes("Remove-CimInstance"))).toEqual([
      expect.stringContaining(ids[0] as string),
    ]);
    expect(full.files.has(record)).toBe(false);
  });

  it("refuses network paths, and stops between volumes when cancelled", async () => {
    const fake = fakeSystem({ answer: wmi() });
    await expect(
      windowsPlatform(fake.system, env).snapshotVolumes(["\\\\nas\\share\\x"], stateDir),
    ).rejects.toMatchObject({
      code: "VSS_UNSUPPORTED_PATH",
    });
    expect(fake.calls).toEqual([]);
    const cancelled = AbortSignal.abort(new Error("cancelled"));
    await expect(windowsPlatform(fake.system, env).snapshotVolumes(["C:\\x"], stateDir, cancelled)).rejects.toThrow(
      "cancelled",
    );
    expect(volumeOf("c:")).toBe("C:\\");
    expect(volumeOf("relative\\path")).toBeUndefined();
  });

  it("deletes the copies a killed agent left behind, keeping those it could not delete on record", async () => {
    const fake = fakeSystem({
      files: { [record]: JSON.stringify(ids) },
      answer: (_file, args) =>
        (args.at(-1) ?? "").includes(ids[1] as string) ? { code: 1, stderr: "busy" } : undefined,
    });
    await windowsPlatform(fake.system, env).releaseLeftoverSnapshots(stateDir);
    expect(fake.commands()).toHaveLength(2);
    expect(JSON.parse(fake.files.get(record)?.toString() ?? "")).toEqual([ids[1]]);
  });
});

describe("ProgramData ACLs", () => {
  it("grant SYSTEM and Administrators only (plus LocalService when it runs the service), and the desktop user one file", async () => {
    const fake = fakeSystem();
    const platform = windowsPlatform(fake.system, env);
    await platform.protectFolders(locations, "LocalService");
    await platform.shareWithDesktopUser(`${locations.stateDir}\\status-page.json`);
    expect(fake.commands()).toEqual([
      "icacls.exe C:\\ProgramData\\E3Backup /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F *S-1-5-19:(OI)(CI)M",
      "icacls.exe C:\\ProgramData\\E3Backup\\logs /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F *S-1-5-19:(OI)(CI)M",
      "icacls.exe C:\\ProgramData\\E3Backup\\status-page.json /grant *S-1-5-4:R",
    ]);
    const failing = fakeSystem({ answer: () => ({ code: 5, stderr: "Access is denied." }) });
    await expect(windowsPlatform(failing.system, env).protectFolders(locations)).rejects.toThrow(/Access is denied/);
  });
});
