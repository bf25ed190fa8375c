/**
 * The servers' error log, for the `doorway` command and the examples alike.
 * Internal.
 *
 * @module
 */

/**
 * Writes errors one line each, but at most one a second: a peer that makes
 * every datagram fail (a reply too large to send, say) would otherwise write
 * a line per datagram. The ones held back are counted, and the count is
 * written before the next error shown, or by `flush()` on the way out. No
 * timer: nothing is written while nothing fails.
 *
 * @example Ten failures in a row, two lines
 * ```ts
 * import { ErrorLog } from "./_error_log.ts";
 *
 * const lines: string[] = [];
 * const log = new ErrorLog((line) => lines.push(line));
 * for (let i = 0; i < 10; i++) log.report(new Error(`Failure ${i}`));
 * log.flush();
 * if (lines.join("|") !== "Failure 0|9 more errors in that second") throw new Error(lines.join("|"));
 * ```
 */
export class ErrorLog {
  #write: (line: string) => void;
  #shownAt = -Infinity;
  #heldBack = 0;

  /** Writes through `write`, a line at a time. */
  constructor(write: (line: string) => void) {
    this.#write = write;
  }

  /** Writes `error`'s message, or counts it if one was written less than a second ago. */
  report(error: unknown): void {
    const now = performance.now();
    if (now - this.#shownAt < 1000) {
      this.#heldBack++;
      return;
    }
    this.flush();
    this.#shownAt = now;
    this.#write(error instanceof Error ? error.message : String(error));
  }

  /** Writes how many errors were held back since the last one shown, if any. */
  flush(): void {
    if (this.#heldBack === 0) return;
    this.#write(`${this.#heldBack} more error${this.#heldBack === 1 ? "" : "s"} in that second`);
    this.#heldBack = 0;
  }
}
