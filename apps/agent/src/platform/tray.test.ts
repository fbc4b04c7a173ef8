import { describe, expect, it } from "vitest";
import { powershellLiteral, windowsTrayCommand, windowsTrayScript } from "./tray.ts";
import { trayRunCommand } from "./windows.ts";

// The Windows tray icon as the agent starts it: the PowerShell command line and script it builds (it cannot run
// here), and the Run key's command line that starts it at logon.

describe("the Windows tray icon", () => {
  it("starts PowerShell hidden in a single-thread apartment with the NotifyIcon script as one argument", () => {
    const { file, args } = windowsTrayCommand("C:\\ProgramData\\E3Backup\\status-page.json");
    expect(file).toBe("powershell.exe");
    expect(args.slice(0, -1)).toEqual([
      "-NoProfile",
      "-STA",
      "-WindowStyle",
      "Hidden",
      "-ExecutionPolicy",
      "Bypass",
      "-Command",
    ]);
    expect(args.at(-1)).toBe(windowsTrayScript("C:\\ProgramData\\E3Backup\\status-page.json"));
  });

  it("reads the status page's address when clicked, and offers to open it or hide the icon", () => {
    const script = windowsTrayScript("C:\\ProgramData\\E3Backup\\status-page.json");
    expect(script).toContain("$statusFile = 'C:\\ProgramData\\E3Backup\\status-page.json'");
    expect(script).toContain("Get-Content -Raw -LiteralPath $statusFile | ConvertFrom-Json; Start-Process $page.url");
    expect(script).toContain("New-Object System.Windows.Forms.NotifyIcon");
    expect(script).toContain("$menu.Items.Add('Open status page').add_Click({ Open-StatusPage })");
    expect(script).toContain("[System.Windows.Forms.MouseButtons]::Left) { Open-StatusPage }");
    expect(script).toContain("[System.Windows.Forms.Application]::Exit()");
    // The file is only read when the icon is clicked: an agent restarted with a new port and token is found again.
    expect(script.indexOf("Get-Content")).toBeGreaterThan(script.indexOf("function Open-StatusPage"));
  });

  it("quotes the state folder's path so that no character of it becomes code", () => {
    expect(powershellLiteral("C:\\Data\\O'Brien's $env:x")).toBe("'C:\\Data\\O''Brien''s $env:x'");
    const script = windowsTrayScript("D:\\it's\\status-page.json");
    expect(script).toContain("$statusFile = 'D:\\it''s\\status-page.json'");
  });

  it("is started at logon by the agent's tray command, quoted for the Run key", () => {
    expect(trayRunCommand("C:\\Program Files\\E3Backup\\e3-backup-agent.exe", [])).toBe(
      '"C:\\Program Files\\E3Backup\\e3-backup-agent.exe" tray',
    );
    expect(trayRunCommand("C:\\node\\node.exe", ["C:\\src\\e3 agent\\bin\\e3-backup-agent.mjs"])).toBe(
      'C:\\node\\node.exe "C:\\src\\e3 agent\\bin\\e3-backup-agent.mjs" tray',
    );
  });
});
