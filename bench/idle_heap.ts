// What one idle connection costs a bench server, after garbage collection:
// JavaScript heap, external (ArrayBuffer) memory and RSS per connection.
// The bench's idle figure is RSS without a forced GC, as a user would see it;
// this separates what is retained from what is merely not yet collected.
//
//   node --import tsx bench/idle_heap.ts RUNTIME SERVER_FILE [CONNECTIONS]
//   node --import tsx bench/idle_heap.ts deno doorway_lines.ts 10000
//
// Run `npm run bench -- --quick` once first (it compiles the load generator).
import { spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = `${ROOT}bench/out/`;

interface Usage {
  heapUsed: number;
  external: number;
  rss: number;
}

async function main(): Promise<void> {
  const [runtime, file, conns = "10000"] = process.argv.slice(2);
  if (!runtime || !file) {
    console.error("usage: idle_heap.ts deno|bun|node SERVER_FILE [CONNECTIONS]");
    process.exit(1);
  }
  const entry = `${ROOT}bench/profile_entry.ts`;
  const server = `${ROOT}bench/servers/${file}`;
  const [command, argv] = runtime === "deno"
    ? [`${ROOT}node_modules/.bin/deno`, ["run", "-A", "--unstable-net", "--v8-flags=--expose-gc", entry, server, "0"]]
    : runtime === "bun"
    ? [`${ROOT}node_modules/.bin/bun`, [entry, server, "0"]]
    : ["node", ["--expose-gc", "--import", "tsx", entry, server, "0"]];
  const child = spawn(command, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const out = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const err = createInterface({ input: child.stderr! })[Symbol.asyncIterator]();
  const port = (await out.next()).value as string;
  // The entry prints memory usage after a full GC on SIGUSR2.
  const usage = async (): Promise<Usage> => {
    child.kill("SIGUSR2");
    for (;;) {
      const { value, done } = await err.next();
      if (done) throw new Error("server exited");
      if (value.startsWith("{")) return JSON.parse(value) as Usage;
    }
  };
  const run = (args: string[]) =>
    spawn(`${OUT}loadgen`, [...args, "--port", port.trim()], { stdio: ["pipe", "pipe", "inherit"] });
  // Warm up, then the baseline.
  await new Promise((resolve) =>
    run(["rr", "--conns", "32", "--depth", "1", "--warmup", "0", "--duration", "0.3"]).on("exit", resolve)
  );
  const before = await usage();
  const idle = run(["idle", "--conns", conns]);
  const lines = createInterface({ input: idle.stdout! })[Symbol.asyncIterator]();
  await lines.next();
  const after = await usage();
  idle.stdin!.end("done\n");
  await new Promise((resolve) => idle.on("exit", resolve));
  child.kill("SIGTERM");
  const n = Number(conns);
  const per = (k: keyof Usage) => ((after[k] - before[k]) / n).toFixed(0);
  console.log(
    `${runtime} ${file}: per idle connection, after GC: heap ${per("heapUsed")} B, external ${per("external")} B, ` +
      `RSS ${per("rss")} B (${n} connections)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
