import { posix } from "node:path";
import {
  type AgentLocations,
  type Drive,
  failed,
  type Platform,
  PlatformError,
  type ServiceState,
  type SystemCalls,
  serviceName,
} from "./platform.ts";

// Linux: files where the FHS puts them (/etc/e3backup, /var/lib/e3backup, /var/log/e3backup), a systemd unit that
// runs the agent as the dedicated system user `e3backup` with only the file capabilities a backup needs, and mount
// points for the source picker. No volume snapshots (LVM/btrfs snapshots are the administrator's choice).

export const linuxServiceUser = "e3backup";
export const unitPath = `/etc/systemd/system/${serviceName}.service`;
/** Where `service install` puts the executable, so the unit does not depend on the download folder. */
export const installedExecutable = "/usr/local/bin/e3-backup-agent";

export function linuxLocations(): AgentLocations {
  return {
    configFile: "/etc/e3backup/agent.conf",
    stateDir: "/var/lib/e3backup",
    logFile: "/var/log/e3backup/agent.log",
  };
}

/** systemd's quoting for one ExecStart word. */
function unitWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\])/g, "\\$1").replace(/%/g, "%%")}"`;
}

/**
 * The unit: restarted on failure, stopped with SIGTERM (the agent suspends its run and resumes it when started
 * again), and as much of systemd's sandboxing as a backup agent can live with. It must read every file (and write
 * restores anywhere), so instead of root it gets the capabilities that bypass file permissions, and nothing else;
 * home folders stay visible; the rest of the system is read-only apart from its own folders.
 */
export function systemdUnit(options: { command: string[]; user: string | undefined; locations: AgentLocations }) {
  const { locations, user } = options;
  const capabilities = "CAP_DAC_READ_SEARCH CAP_DAC_OVERRIDE CAP_CHOWN CAP_FOWNER CAP_FSETID";
  const lines = [
    "# Written by `e3-backup-agent service install`; `service uninstall` removes it.",
    "[Unit]",
    "Description=e3 backup agent",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${[...options.command, "run"].map(unitWord).join(" ")}`,
    ...(user ? [`User=${user}`, `Group=${user}`, `AmbientCapabilities=${capabilities}`] : []),
    `CapabilityBoundingSet=${capabilities}`,
    `Environment=${unitWord(`E3_AGENT_CONFIG=${locations.configFile}`)}`,
    `Environment=${unitWord(`E3_AGENT_STATE=${locations.stateDir}`)}`,
    `Environment=${unitWord(`E3_AGENT_LOG=${locations.logFile}`)}`,
    "Restart=on-failure",
    "RestartSec=10s",
    "TimeoutStopSec=60s",
    "UMask=0077",
    "NoNewPrivileges=yes",
    "ProtectSystem=full",
    `ReadWritePaths=-${posix.dirname(locations.configFile)} -${locations.stateDir} -${posix.dirname(locations.logFile)}`,
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictSUIDSGID=yes",
    "RestrictRealtime=yes",
    "RestrictNamespaces=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ];
  return lines.join("\n");
}

function parseProperties(text: string): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) properties[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return properties;
}

export function linuxPlatform(system: SystemCalls): Platform {
  const run = async (file: string, args: string[], what = `${file} ${args.join(" ")}`) => {
    const result = await system.exec(file, args);
    if (result.code !== 0) throw failed(result, what);
    return result;
  };
  const requireRoot = async (what: string) => {
    if (!(await system.isPrivileged())) {
      throw new PlatformError("PLATFORM_NOT_PRIVILEGED", `${what} needs root: run it with sudo`);
    }
  };
  const serviceUser = (account: string | undefined) => {
    const user = account ?? linuxServiceUser;
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
      throw new PlatformError(
        "PLATFORM_BAD_ACCOUNT",
        `--account must be a Linux user name, not ${JSON.stringify(user)}`,
      );
    }
    return user === "root" ? undefined : user;
  };

  const platform: Platform = {
    os: "linux",
    path: posix,
    defaultLocations: () => linuxLocations(),

    async protectFolders(locations, account) {
      const user = serviceUser(account);
      const folders = [posix.dirname(locations.configFile), locations.stateDir, posix.dirname(locations.logFile)];
      for (const folder of folders) await system.makeDirectory(folder, 0o750);
      const owner = user ? `${user}:${user}` : "root:root";
      await run("chown", ["-R", owner, ...folders]);
      await run("chmod", ["0750", ...folders]);
      // agent.conf holds the agent's token: its owner alone reads it (enroll already writes it 0600).
      if (await system.readFile(locations.configFile)) await run("chmod", ["0600", locations.configFile]);
    },

    async shareWithDesktopUser(file) {
      // The group of the state folder reads it: add a desktop user with `usermod -aG e3backup USER`.
      await run("chmod", ["0640", file]);
    },

    async installService(options, say) {
      await requireRoot("service install");
      const user = serviceUser(options.account);
      if (user) {
        const known = await system.exec("getent", ["passwd", user]);
        if (known.code !== 0) {
          await run("useradd", [
            "--system",
            "--user-group",
            "--home-dir",
            options.locations.stateDir,
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "--comment",
            "e3 backup agent",
            user,
          ]);
          say(`created the system user ${user}`);
        }
      }
      const self = system.selfCommand();
      let command = [self.file, ...self.args];
      if (self.standalone && self.file !== installedExecutable) {
        await system.copyFile(self.file, installedExecutable, 0o755);
        command = [installedExecutable];
        say(`installed ${installedExecutable}`);
      }
      await platform.protectFolders(options.locations, options.account);
      await system.writeFile(unitPath, systemdUnit({ command, user, locations: options.locations }), 0o644);
      say(`wrote ${unitPath} (runs as ${user ?? "root"})`);
      await run("systemctl", ["daemon-reload"]);
      await run("systemctl", ["enable", "--now", `${serviceName}.service`]);
      say(
        `${serviceName}.service is enabled and started; logs: journalctl -u ${serviceName} or ${options.locations.logFile}`,
      );
    },

    async uninstallService(say) {
      await requireRoot("service uninstall");
      if (!(await system.readFile(unitPath))) {
        say(`${serviceName}.service is not installed`);
        return;
      }
      // A unit that is already stopped or disabled is fine; its removal is what matters.
      await system.exec("systemctl", ["disable", "--now", `${serviceName}.service`]);
      await system.removeFile(unitPath);
      await run("systemctl", ["daemon-reload"]);
      const kept = linuxLocations();
      say(
        `removed ${serviceName}.service; agent.conf, the state and the ${linuxServiceUser} user are kept ` +
          `(delete ${posix.dirname(kept.configFile)}, ${kept.stateDir} and the user to forget this machine)`,
      );
    },

    async serviceStatus(): Promise<ServiceState> {
      const result = await system.exec("systemctl", [
        "show",
        `${serviceName}.service`,
        "--property=LoadState,ActiveState,SubState,UnitFileState,MainPID",
      ]);
      if (result.code !== 0) throw failed(result, "systemctl show");
      const properties = parseProperties(result.stdout);
      const installed = properties.LoadState === "loaded";
      const running = properties.ActiveState === "active" && properties.SubState === "running";
      const detail = installed
        ? `${properties.ActiveState} (${properties.SubState}), ${properties.UnitFileState}` +
          (running ? `, pid ${properties.MainPID}` : "")
        : "not installed";
      return { installed, running, detail };
    },

    async listDrives(): Promise<Drive[]> {
      // Real file systems only (no proc, tmpfs, overlay of containers…), as df shows them.
      const result = await system.exec("df", [
        "--local",
        "--output=fstype,size,avail,target",
        "--block-size=1",
        "-x",
        "tmpfs",
        "-x",
        "devtmpfs",
        "-x",
        "squashfs",
        "-x",
        "overlay",
        "-x",
        "efivarfs",
      ]);
      if (result.code !== 0 && !result.stdout) throw failed(result, "df");
      return result.stdout
        .split("\n")
        .slice(1)
        .map((line) => /^(\S+)\s+(\d+)\s+(\d+)\s+(\/.*)$/.exec(line.trim()))
        .filter((match) => match !== null)
        .map(([, fileSystem, size, free, path]) => ({
          path: path as string,
          fileSystem: fileSystem as string,
          totalBytes: Number(size),
          freeBytes: Number(free),
        }));
    },

    snapshotVolumes: async () => ({ map: (path) => path, release: async () => {} }),
    releaseLeftoverSnapshots: async () => {},
  };
  return platform;
}
