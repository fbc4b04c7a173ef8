import type { Progress } from "@e3/engine";

// What the CLI prints: a one-line progress bar redrawn on a terminal (stderr, so stdout stays clean for pipes),
// JSON lines with --json, nothing otherwise. Sizes in binary units, as restic prints them.

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const pad = (value: number) => String(value).padStart(2, "0");
  return hours > 0 ? `${hours}:${pad(minutes % 60)}:${pad(seconds % 60)}` : `${pad(minutes)}:${pad(seconds % 60)}`;
}

export type ProgressPrinter = { update: (progress: Progress) => void; done: () => void };

/** A bar for terminals; JSON lines (`{"message_type":"status",…}`) with --json; silent when neither. */
export function progressPrinter(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressPrinter {
  if (json) {
    return {
      update: (progress) => process.stdout.write(`${JSON.stringify({ message_type: "status", ...progress })}\n`),
      done: () => {},
    };
  }
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  let drawn = false;
  return {
    update: (progress) => {
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      const fraction = progress.bytesTotal > 0 ? Math.min(1, progress.bytesDone / progress.bytesTotal) : 0;
      const head =
        `[${formatDuration(progress.elapsedMs)}] ${(fraction * 100).toFixed(1).padStart(5)}%  ` +
        `${progress.filesDone}/${progress.filesTotal} files ` +
        `${formatBytes(progress.bytesDone)}/${formatBytes(progress.bytesTotal)} ` +
        `${formatBytes(progress.bytesPerSecond)}/s` +
        (progress.errors ? `  ${progress.errors} errors` : "");
      const room = width - head.length - 2;
      const file = progress.currentFile && room > 10 ? `  ${shorten(progress.currentFile, room)}` : "";
      stream.write(`\r\x1b[2K${head}${file}`);
      drawn = true;
    },
    done: () => {
      if (drawn) stream.write("\r\x1b[2K");
    },
  };
}

function shorten(text: string, room: number): string {
  return text.length <= room ? text : `…${text.slice(text.length - room + 1)}`;
}

/** Left-aligned columns with a header and a rule, as restic's tables. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  const rule = "-".repeat(widths.reduce((sum, width) => sum + width + 2, -2));
  return [line(header), rule, ...rows.map(line), rule].join("\n");
}
