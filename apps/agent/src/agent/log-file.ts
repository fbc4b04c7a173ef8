import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";

// The agent's own log file, rotated by size: when the next line would take agent.log past `maxBytes`, agent.log
// becomes agent.log.1, agent.log.1 becomes .2 and so on, and the oldest past `keep` is deleted. Writes are
// synchronous appends: a line is on disk (in order) before the agent goes on, and a service's agent writes a few
// lines a minute. A log that cannot be written (no permission) is reported once and the agent carries on without.

export type RotatingLogOptions = { maxBytes?: number; keep?: number; onError?: (message: string) => void };

export class RotatingLog {
  readonly file: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  readonly #onError: (message: string) => void;
  #size = -1;
  #broken = false;

  constructor(file: string, options: RotatingLogOptions = {}) {
    this.file = file;
    this.#maxBytes = options.maxBytes ?? 10 * 2 ** 20;
    this.#keep = options.keep ?? 5;
    this.#onError = options.onError ?? (() => {});
  }

  write(line: string): void {
    if (this.#broken) return;
    const text = line.endsWith("\n") ? line : `${line}\n`;
    const bytes = Buffer.byteLength(text);
    try {
      if (this.#size < 0) {
        mkdirSync(dirname(this.file), { recursive: true, mode: 0o750 });
        this.#size = statSync(this.file, { throwIfNoEntry: false })?.size ?? 0;
      }
      if (this.#size > 0 && this.#size + bytes > this.#maxBytes) this.#rotate();
      appendFileSync(this.file, text, { mode: 0o640 });
      this.#size += bytes;
    } catch (error) {
      this.#broken = true;
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      this.#onError(`cannot write the log file ${this.file} (${code}); logging to the console only`);
    }
  }

  #rotate(): void {
    rmSync(`${this.file}.${this.#keep}`, { force: true });
    for (let n = this.#keep - 1; n >= 1; n--) {
      try {
        renameSync(`${this.file}.${n}`, `${this.file}.${n + 1}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    if (this.#keep > 0) renameSync(this.file, `${this.file}.1`);
    else rmSync(this.file, { force: true });
    this.#size = 0;
  }
}
