// The tray icon on Windows: a small PowerShell script (Windows Forms' NotifyIcon, part of every Windows) that runs in
// the logged-on user's session, started at logon from the Run key that `service install` writes. Clicking the icon
// (or "Open status page" in its menu) opens the agent's local status page, whose address and token it reads from
// status-page.json in the state folder at that moment (the INTERACTIVE user may read that one file). The service
// itself runs in session 0 and cannot show anything on the desktop, hence a separate process. Linux desktops have no
// common tray API worth a dependency: there, `status-page --open` or a desktop shortcut to it.

/** A string as a PowerShell single-quoted literal (a quote inside is doubled). */
export function powershellLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function windowsTrayScript(statusFile: string): string {
  return [
    "$ErrorActionPreference = 'Stop'",
    "Add-Type -AssemblyName System.Windows.Forms",
    "Add-Type -AssemblyName System.Drawing",
    `$statusFile = ${powershellLiteral(statusFile)}`,
    "function Open-StatusPage {",
    "  try { $page = Get-Content -Raw -LiteralPath $statusFile | ConvertFrom-Json; Start-Process $page.url }",
    "  catch { [System.Windows.Forms.MessageBox]::Show('The e3 backup agent is not running, or its status page is off. Start the e3-backup-agent service.', 'e3 backup') | Out-Null }",
    "}",
    "$icon = New-Object System.Windows.Forms.NotifyIcon",
    "$icon.Icon = [System.Drawing.SystemIcons]::Shield",
    "$icon.Text = 'e3 backup agent'",
    "$menu = New-Object System.Windows.Forms.ContextMenuStrip",
    "$menu.Items.Add('Open status page').add_Click({ Open-StatusPage })",
    "$menu.Items.Add('Hide this icon').add_Click({ $icon.Visible = $false; [System.Windows.Forms.Application]::Exit() })",
    "$icon.ContextMenuStrip = $menu",
    "$icon.add_MouseClick({ param($source, $click) if ($click.Button -eq [System.Windows.Forms.MouseButtons]::Left) { Open-StatusPage } })",
    "$icon.Visible = $true",
    "[System.Windows.Forms.Application]::Run()",
    "$icon.Dispose()",
  ].join("\r\n");
}

/** The program and arguments that show the tray icon (no console window; Windows Forms wants a single-thread apartment). */
export function windowsTrayCommand(statusFile: string): { file: string; args: string[] } {
  return {
    file: "powershell.exe",
    args: [
      "-NoProfile",
      "-STA",
      "-WindowStyle",
      "Hidden",
      "-ExecutionPolicy",
      "Bypass",
      "-Command",
      windowsTrayScript(statusFile),
    ],
  };
}

/** Where `service install` registers the tray icon for every user's logon (HKLM, so it needs the installer's rights). */
export const trayRunKey = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run";
export const trayRunValue = "e3-backup-agent-tray";
