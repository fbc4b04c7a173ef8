import { win32 } from "node:path";
import { z } from "zod";
import {
  type AgentLocations,
  type Drive,
  failed,
  type Platform,
  PlatformError,
  type ServiceState,
  type SystemCalls,
  serviceName,
  type VolumeSnapshot,
} from "./platform.ts";
import { trayRunKey, trayRunValue } from "./tray.ts";

// Windows: everything under %PROGRAMDATA%\E3Backup as in the seed (agent.conf, runs\, logs\), protected by ACLs
// that leave only SYSTEM, Administrators and the service account in; the service is registered with the service
// control manager through WinSW (the wrapper node-windows ships: Node itself cannot answer the SCM's control
// requests, so a bare `sc.exe create` of node.exe is killed after 30 s with error 1053); VSS shadow copies through
// WMI's Win32_ShadowCopy; drive letters for the source picker. Commands run without a shell: PowerShell gets its
// script as one argument, built only from validated drive letters and shadow copy ids.

/** Well-known SIDs, so the ACLs do not depend on the language of Windows. */
const sids = {
  system: "*S-1-5-18",
  localService: "*S-1-5-19",
  administrators: "*S-1-5-32-544",
  interactive: "*S-1-5-4",
};

const accounts = {
  LocalSystem: undefined,
  LocalService: "LocalService",
} as const;

export function windowsLocations(env: NodeJS.ProcessEnv): AgentLocations {
  const base = win32.join(env.PROGRAMDATA ?? env.ProgramData ?? "C:\\ProgramData", "E3Backup");
  return {
    configFile: win32.join(base, "agent.conf"),
    stateDir: base,
    logFile: win32.join(base, "logs", "agent.log"),
  };
}

function xmlText(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** WinSW 2's configuration for the agent's service (the file beside the wrapper, same base name). */
export function winswConfig(options: {
  executable: string;
  args: string[];
  account: keyof typeof accounts;
  locations: AgentLocations;
}): string {
  const { locations } = options;
  const quoted = [...options.args, "run"].map(quoteArgument);
  const user = accounts[options.account];
  return [
    "<!-- Written by `e3-backup-agent service install`; `service uninstall` removes it. -->",
    "<service>",
    `  <id>${serviceName}</id>`,
    "  <name>e3 backup agent</name>",
    "  <description>Runs the backups, syncs and restores the e3 backup portal assigns to this machine.</description>",
    `  <executable>${xmlText(options.executable)}</executable>`,
    `  <arguments>${xmlText(quoted.join(" "))}</arguments>`,
    "  <startmode>Automatic</startmode>",
    "  <delayedAutoStart/>",
    '  <onfailure action="restart" delay="10 sec"/>',
    '  <onfailure action="restart" delay="60 sec"/>',
    "  <resetfailure>1 hour</resetfailure>",
    // Ctrl+C first (the agent suspends its run to resume it when started again), killed after this long.
    "  <stoptimeout>60 sec</stoptimeout>",
    `  <env name="E3_AGENT_CONFIG" value="${xmlText(locations.configFile)}"/>`,
    `  <env name="E3_AGENT_STATE" value="${xmlText(locations.stateDir)}"/>`,
    `  <env name="E3_AGENT_LOG" value="${xmlText(locations.logFile)}"/>`,
    // The agent rotates its own log; the wrapper's keeps what the process prints before it can (a crash at start).
    `  <logpath>${xmlText(win32.dirname(locations.logFile))}</logpath>`,
    '  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>3</keepFiles></log>',
    ...(user
      ? ["  <serviceaccount>", "    <domain>NT AUTHORITY</domain>", `    <user>${user}</user>`, "  </serviceaccount>"]
      : []),
    `  <workingdirectory>${xmlText(locations.stateDir)}</workingdirectory>`,
    "</service>",
    "",
  ].join("\r\n");
}

/** One argument of a Windows command line, quoted when it holds a space or a quote. */
function quoteArgument(arg: string): string {
  return /[\s"]/.test(arg) ? `"${arg.replace(/"/g, '\\"')}"` : arg;
}

/** The Run key's command line that shows the tray icon at logon: the agent's `tray` command. */
export function trayRunCommand(executable: string, args: string[]): string {
  return [executable, ...args, "tray"].map(quoteArgument).join(" ");
}

/** What the SCM says in `sc.exe query`: STATE : 4 RUNNING. */
export function parseScQuery(text: string): { state: string; code: number } | undefined {
  const match = /STATE\s*:\s*(\d+)\s+(\w+)/.exec(text);
  return match ? { code: Number(match[1]), state: match[2] as string } : undefined;
}

const driveSchema = z.array(
  z.object({
    DeviceID: z.string().regex(/^[A-Z]:$/),
    VolumeName: z.string().nullable().optional(),
    FileSystem: z.string().nullable().optional(),
    Size: z.coerce.number().nullable().optional(),
    FreeSpace: z.coerce.number().nullable().optional(),
    DriveType: z.number(),
  }),
);

/** Win32_ShadowCopy.Create's return values (WMI documentation). */
const shadowCopyErrors: Record<number, string> = {
  1: "access denied (run the service as LocalSystem or an Administrator)",
  2: "invalid argument",
  3: "the volume was not found",
  4: "the volume does not support shadow copies",
  5: "the shadow copy context is not supported",
  6: "not enough storage for the shadow copy (grow it with vssadmin resize shadowstorage)",
  7: "the volume is in use",
  8: "the volume has the maximum number of shadow copies",
  9: "another shadow copy operation is in progress; try again later",
  10: "a shadow copy provider vetoed the operation",
  11: "the shadow copy provider is not registered",
  12: "the shadow copy provider failed",
};

const shadowIdPattern = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;
const shadowRecord = (stateDir: string) => win32.join(stateDir, "vss-shadow-copies.json");

/** The volume root of a local path (`C:\`), or undefined for a network path. */
export function volumeOf(path: string): string | undefined {
  const match = /^([A-Za-z]):(?:[\\/]|$)/.exec(path);
  return match ? `${(match[1] as string).toUpperCase()}:\\` : undefined;
}

export function windowsPlatform(system: SystemCalls, env: NodeJS.ProcessEnv = process.env): Platform {
  const powershell = (script: string) =>
    system.exec("powershell.exe", ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", script]);
  const run = async (file: string, args: string[], what = `${file} ${args.join(" ")}`) => {
    const result = await system.exec(file, args);
    if (result.code !== 0) throw failed(result, what);
    return result;
  };
  const requireAdministrator = async (what: string) => {
    if (!(await system.isPrivileged())) {
      throw new PlatformError(
        "PLATFORM_NOT_PRIVILEGED",
        `${what} needs an Administrator: run it from a terminal opened with "Run as administrator"`,
      );
    }
  };
  const accountOf = (account: string | undefined): keyof typeof accounts => {
    const name = account ?? "LocalSystem";
    if (name !== "LocalSystem" && name !== "LocalService") {
      throw new PlatformError("PLATFORM_BAD_ACCOUNT", `--account must be LocalSystem or LocalService, not ${name}`);
    }
    return name;
  };
  const base = windowsLocations(env).stateDir;
  const serviceDir = win32.join(base, "service");
  const wrapper = win32.join(serviceDir, `${serviceName}-service.exe`);
  const programFiles = win32.join(env.ProgramFiles ?? env.PROGRAMFILES ?? "C:\\Program Files", "E3Backup");
  const installedExecutable = win32.join(programFiles, "e3-backup-agent.exe");

  const readRecord = async (stateDir: string): Promise<string[]> => {
    const text = (await system.readFile(shadowRecord(stateDir)))?.toString("utf8");
    if (!text) return [];
    const parsed = z.array(z.string().regex(shadowIdPattern)).safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : [];
  };
  const writeRecord = async (stateDir: string, ids: string[]) => {
    if (ids.length === 0) await system.removeFile(shadowRecord(stateDir));
    else await system.writeFile(shadowRecord(stateDir), JSON.stringify(ids), 0o600);
  };
  const deleteShadow = async (id: string) => {
    if (!shadowIdPattern.test(id)) throw new PlatformError("VSS_FAILED", `not a shadow copy id: ${id}`);
    const result = await powershell(
      `$ErrorActionPreference = 'Stop'; Get-CimInstance -ClassName Win32_ShadowCopy -Filter "ID='${id}'" | Remove-CimInstance`,
    );
    if (result.code !== 0) throw failed(result, `deleting shadow copy ${id}`);
  };

  const platform: Platform = {
    os: "windows",
    path: win32,
    defaultLocations: (environment) => windowsLocations(environment),

    async protectFolders(locations, account) {
      const user = accounts[accountOf(account)];
      const folders = new Set([
        win32.dirname(locations.configFile),
        locations.stateDir,
        win32.dirname(locations.logFile),
      ]);
      for (const folder of folders) {
        await system.makeDirectory(folder, 0o700);
        // Inherited entries (Users may read ProgramData) removed; SYSTEM, Administrators and the service account only.
        await run("icacls.exe", [
          folder,
          "/inheritance:r",
          "/grant:r",
          `${sids.system}:(OI)(CI)F`,
          `${sids.administrators}:(OI)(CI)F`,
          ...(user ? [`${sids.localService}:(OI)(CI)M`] : []),
        ]);
      }
    },

    async shareWithDesktopUser(file) {
      // Whoever is logged on at the console (INTERACTIVE) may read the status page's address and token, nothing more.
      await run("icacls.exe", [file, "/grant", `${sids.interactive}:R`]);
    },

    async installService(options, say) {
      await requireAdministrator("service install");
      const account = accountOf(options.account);
      const winsw = system.embeddedAsset("winsw.exe");
      if (!winsw) {
        throw new PlatformError(
          "PLATFORM_NO_SERVICE_WRAPPER",
          "service install on Windows needs e3-backup-agent-win-x64.exe (it carries the service wrapper); run it from there",
        );
      }
      const self = system.selfCommand();
      let executable = self.file;
      if (self.standalone && self.file.toLowerCase() !== installedExecutable.toLowerCase()) {
        await system.makeDirectory(programFiles, 0o755);
        await system.copyFile(self.file, installedExecutable, 0o755);
        executable = installedExecutable;
        say(`installed ${installedExecutable}`);
      }
      await platform.protectFolders(options.locations, account);
      await system.makeDirectory(serviceDir, 0o700);
      await system.writeFile(wrapper, winsw, 0o755);
      await system.writeFile(
        wrapper.replace(/\.exe$/, ".xml"),
        winswConfig({ executable, args: self.args, account, locations: options.locations }),
        0o600,
      );
      await run(wrapper, ["install"], "registering the service");
      await run("sc.exe", ["start", serviceName], "starting the service");
      // The tray icon, for whoever logs on from now on (the service cannot show it: it runs in session 0).
      await run(
        "reg.exe",
        ["add", trayRunKey, "/v", trayRunValue, "/t", "REG_SZ", "/d", trayRunCommand(executable, self.args), "/f"],
        "registering the tray icon",
      );
      say(
        `the ${serviceName} service is installed and started (runs as ${account}); logs: ${options.locations.logFile}; the tray icon appears at the next logon ('e3-backup-agent tray' shows it now)`,
      );
    },

    async uninstallService(say) {
      await requireAdministrator("service uninstall");
      const state = await platform.serviceStatus();
      if (!state.installed) {
        say(`the ${serviceName} service is not installed`);
        return;
      }
      if (state.running) await run("sc.exe", ["stop", serviceName], "stopping the service");
      await run(wrapper, ["uninstall"], "removing the service");
      // Gone already is fine (exit code 1: the value does not exist).
      await system.exec("reg.exe", ["delete", trayRunKey, "/v", trayRunValue, "/f"]);
      await system.removeFile(wrapper);
      await system.removeFile(wrapper.replace(/\.exe$/, ".xml"));
      say(`removed the ${serviceName} service; agent.conf and the state in ${base} are kept`);
    },

    async serviceStatus(): Promise<ServiceState> {
      const result = await system.exec("sc.exe", ["query", serviceName]);
      // 1060: ERROR_SERVICE_DOES_NOT_EXIST.
      if (result.code === 1060) return { installed: false, running: false, detail: "not installed" };
      if (result.code !== 0) throw failed(result, "sc.exe query");
      const state = parseScQuery(result.stdout);
      if (!state) throw new PlatformError("PLATFORM_COMMAND_FAILED", `sc.exe query printed no STATE: ${result.stdout}`);
      return { installed: true, running: state.code === 4, detail: state.state.toLowerCase() };
    },

    async listDrives(): Promise<Drive[]> {
      const result = await powershell(
        "Get-CimInstance -ClassName Win32_LogicalDisk | Select-Object DeviceID,VolumeName,FileSystem,Size,FreeSpace,DriveType | ConvertTo-Json -Compress",
      );
      if (result.code !== 0) throw failed(result, "listing drives");
      const json = JSON.parse(result.stdout.trim() || "[]") as unknown;
      const disks = driveSchema.parse(Array.isArray(json) ? json : [json]);
      // Local (3), removable (2) and network (4) drives; CD/DVD (5) and RAM disks (6) are not backup sources.
      return disks
        .filter((disk) => disk.DriveType >= 2 && disk.DriveType <= 4)
        .map((disk) => ({
          path: `${disk.DeviceID}\\`,
          ...(disk.VolumeName ? { label: disk.VolumeName } : {}),
          ...(disk.FileSystem ? { fileSystem: disk.FileSystem } : {}),
          ...(disk.Size ? { totalBytes: disk.Size } : {}),
          ...(disk.FreeSpace !== null && disk.FreeSpace !== undefined ? { freeBytes: disk.FreeSpace } : {}),
        }));
    },

    async snapshotVolumes(paths, stateDir, signal): Promise<VolumeSnapshot> {
      const volumes = [...new Set(paths.map((path) => volumeOf(path) ?? path))];
      const remote = volumes.find((volume) => volumeOf(volume) === undefined);
      if (remote) {
        throw new PlatformError(
          "VSS_UNSUPPORTED_PATH",
          `${remote} is not on a local drive, so it has no shadow copy; turn VSS off for this job or back it up where it is local`,
        );
      }
      const devices = new Map<string, { id: string; device: string }>();
      const release = async () => {
        const problems: string[] = [];
        const released = new Set<string>();
        for (const [volume, { id }] of devices) {
          try {
            await deleteShadow(id);
            devices.delete(volume);
            released.add(id);
          } catch (error) {
            problems.push(error instanceof Error ? error.message : String(error));
          }
        }
        await writeRecord(
          stateDir,
          (await readRecord(stateDir)).filter((id) => !released.has(id)),
        );
        if (problems.length > 0) throw new PlatformError("VSS_RELEASE_FAILED", problems.join("; "));
      };
      try {
        for (const volume of volumes) {
          signal?.throwIfAborted();
          const result = await powershell(
            [
              "$ErrorActionPreference = 'Stop'",
              `$r = Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = '${volume}'; Context = 'ClientAccessible' }`,
              'if ($r.ReturnValue -ne 0) { [Console]::Out.Write("ERROR|" + $r.ReturnValue); exit 0 }',
              `$s = Get-CimInstance -ClassName Win32_ShadowCopy -Filter "ID='$($r.ShadowID)'"`,
              '[Console]::Out.Write($s.ID + "|" + $s.DeviceObject)',
            ].join("; "),
          );
          if (result.code !== 0) throw failed(result, `creating a shadow copy of ${volume}`);
          const [id, device] = result.stdout.trim().split("|") as [string, string | undefined];
          if (id === "ERROR") {
            const code = Number(device);
            throw new PlatformError(
              "VSS_FAILED",
              `shadow copy of ${volume} failed: ${shadowCopyErrors[code] ?? `Win32_ShadowCopy.Create returned ${code}`}`,
            );
          }
          if (!shadowIdPattern.test(id) || !device?.startsWith("\\\\?\\GLOBALROOT\\Device\\")) {
            throw new PlatformError(
              "VSS_FAILED",
              `unexpected answer creating a shadow copy of ${volume}: ${result.stdout}`,
            );
          }
          devices.set(volume, { id, device });
          // Recorded at once: an agent killed before release() deletes it when it starts again.
          await writeRecord(stateDir, [...(await readRecord(stateDir)), id]);
        }
      } catch (error) {
        await release().catch(() => {});
        throw error;
      }
      return {
        map(path) {
          const volume = volumeOf(path);
          const shadow = volume ? devices.get(volume) : undefined;
          return shadow && volume ? `${shadow.device}\\${path.slice(volume.length)}` : path;
        },
        release,
      };
    },

    async releaseLeftoverSnapshots(stateDir) {
      const leftover = await readRecord(stateDir);
      const kept: string[] = [];
      for (const id of leftover) await deleteShadow(id).catch(() => kept.push(id));
      await writeRecord(stateDir, kept);
    },
  };
  return platform;
}
