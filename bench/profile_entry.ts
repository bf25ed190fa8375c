// Runs a bench server for profile.ts and idle_heap.ts: SIGTERM ends it with
// a normal exit, which is when runtimes write their CPU profile, and SIGUSR2
// prints its memory use after a full garbage collection, as one JSON line on
// stderr (Node needs --expose-gc, Deno --v8-flags=--expose-gc).
//   RUNTIME profile_entry.ts SERVER_FILE PORT
import process from "node:process";
import { pathToFileURL } from "node:url";

type Collect = () => void;
const g = globalThis as { gc?: Collect; Bun?: { gc(force: boolean): void } };

function collect(): void {
  if (g.gc !== undefined) {
    g.gc();
    g.gc();
  } else {
    g.Bun?.gc(true);
  }
}

process.on("SIGTERM", () => process.exit(0));
process.on("SIGUSR2", () => {
  collect();
  const { heapUsed, external, rss } = process.memoryUsage();
  console.error(JSON.stringify({ heapUsed, external, rss }));
});
const file = process.argv[2];
// The server reads its port from the last argument, as when run directly.
process.argv.splice(2, 1);
await import(pathToFileURL(file).href);
