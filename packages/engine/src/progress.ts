// Progress of long engine work (backup, restore, check, prune), reported to a callback at least once a second and
// once more at the end. The agent forwards it to the portal; the CLI draws it as a bar or prints it as JSON lines.

export type Progress = {
  /** What the work is doing now, e.g. "scanning", "backing up", "restoring", "finishing". */
  phase: string;
  filesDone: number;
  /** Known once scanning has finished; until then the count found so far. */
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Average over the last few seconds. */
  bytesPerSecond: number;
  /** The file being worked on, as a path inside the snapshot. */
  currentFile?: string;
  elapsedMs: number;
  /** Files that could not be read or written so far (each also reported through onError). */
  errors: number;
};

export type ProgressCallback = (progress: Progress) => void;

/**
 * Keeps the counters and calls the callback every `intervalMs` while started, computing bytes/s over a sliding
 * window. `finish` stops the timer and reports the final state once.
 */
export class ProgressMeter {
  readonly #callback: ProgressCallback | undefined;
  readonly #started = Date.now();
  readonly #samples: { at: number; bytes: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  state: Omit<Progress, "bytesPerSecond" | "elapsedMs">;

  constructor(phase: string, callback?: ProgressCallback, intervalMs = 1000) {
    this.#callback = callback;
    this.state = { phase, filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, errors: 0 };
    if (callback) {
      this.#timer = setInterval(() => this.report(), intervalMs);
      this.#timer.unref();
    }
  }

  snapshot(): Progress {
    const now = Date.now();
    this.#samples.push({ at: now, bytes: this.state.bytesDone });
    while (this.#samples.length > 1 && now - (this.#samples[0]?.at ?? now) > 5000) this.#samples.shift();
    const first = this.#samples[0] ?? { at: now, bytes: 0 };
    const seconds = (now - first.at) / 1000;
    const bytesPerSecond =
      seconds > 0
        ? (this.state.bytesDone - first.bytes) / seconds
        : this.state.bytesDone / Math.max((now - this.#started) / 1000, 0.001);
    return { ...this.state, bytesPerSecond: Math.round(bytesPerSecond), elapsedMs: now - this.#started };
  }

  report(): void {
    this.#callback?.(this.snapshot());
  }

  finish(phase = "done"): Progress {
    clearInterval(this.#timer);
    this.state.phase = phase;
    const final = this.snapshot();
    this.#callback?.(final);
    return final;
  }
}
