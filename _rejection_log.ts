/**
 * The servers' count of connections turned away, for the `doorway` command
 * and the example server alike. Internal.
 *
 * @module
 */

/**
 * Writes how many connections `server` turned away at `maxConnections`,
 * summed up at most once a second, and once more when the returned function
 * is called (on the way out). The server counts them without telling
 * anyone: its stats are polled.
 *
 * @example Stopping at once, with nothing turned away
 * ```ts
 * import { reportRejections } from "./_rejection_log.ts";
 *
 * const lines: string[] = [];
 * const stop = reportRejections({ stats: { rejected: 0 } }, { maxConnections: 1, write: (l) => lines.push(l) });
 * stop();
 * if (lines.length !== 0) throw new Error(lines.join("|"));
 * ```
 */
export function reportRejections(
  server: { readonly stats: { rejected: number } },
  options: { maxConnections: number; write: (line: string) => void },
): () => void {
  let reported = 0;
  const report = () => {
    const rejected = server.stats.rejected - reported;
    if (rejected === 0) return;
    reported += rejected;
    options.write(
      `Rejected ${rejected} connection${rejected === 1 ? "" : "s"}: max-connections ${options.maxConnections} reached`,
    );
  };
  const timer = setInterval(report, 1000);
  return () => {
    clearInterval(timer);
    report();
  };
}
