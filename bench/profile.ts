// Profiles one bench server under load: the V8/JSC sampling profiler of its
// runtime, the bench's load generator, and a summary of where the time went.
//
//   node --import tsx bench/profile.ts RUNTIME SERVER_FILE [LOADGEN ARGS...]
//   node --import tsx bench/profile.ts node doorway_lines.ts rr --conns 32 --depth 16
//   node --import tsx bench/profile.ts deno doorway_udp.ts udp --conns 1
//
// Run `npm run bench -- --quick` once first (it compiles the load generator).
// Writes bench/out/profile-*.cpuprofile (open it in Chrome DevTools) and
// prints the functions with the most self time and the most total time.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = `${ROOT}bench/out/`;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self and total sample shares per function, from a .cpuprofile. */
export function summarize(path: string, top = 25): string {
  const profile = JSON.parse(readFileSync(path, "utf8")) as { nodes: ProfileNode[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const name = (n: ProfileNode) => {
    const file = n.callFrame.url.replace(/^.*\/work\/main\//, "").replace(/^file:\/\//, "");
    return `${n.callFrame.functionName || "(anonymous)"} ${file ? `${file}:${n.callFrame.lineNumber + 1}` : ""}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  // Total time: a function's own samples plus its callees', counted once per
  // path even when it recurses.
  const walk = (id: number, onPath: Set<string>): number => {
    const n = byId.get(id)!;
    const key = name(n);
    let sum = n.hitCount ?? 0;
    all += n.hitCount ?? 0;
    self.set(key, (self.get(key) ?? 0) + (n.hitCount ?? 0));
    const fresh = !onPath.has(key);
    if (fresh) onPath.add(key);
    for (const child of n.children ?? []) sum += walk(child, onPath);
    if (fresh) {
      onPath.delete(key);
      total.set(key, (total.get(key) ?? 0) + sum);
    }
    return sum;
  };
  walk(profile.nodes[0].id, new Set());
  const pct = (x: number) => `${((100 * x) / all).toFixed(1).padStart(5)}%`;
  const lines = [`${all} samples`, "", "self time:"];
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push("", "total time:");
  for (const [k, v] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  return lines.join("\n");
}

function busySamples(path: string): number {
  const profile = JSON.parse(readFileSync(path, "utf8")) as { nodes: ProfileNode[] };
  return profile.nodes.filter((n) => n.callFrame.functionName !== "(idle)").reduce((a, n) => a + (n.hitCount ?? 0), 0);
}

async function main(): Promise<void> {
  const [runtime, file, ...loadgen] = process.argv.slice(2);
  if (!runtime || !file) {
    console.error("usage: profile.ts deno|bun|node SERVER_FILE [LOADGEN ARGS...]");
    process.exit(1);
  }
  mkdirSync(OUT, { recursive: true });
  const name = `profile-${runtime}-${file.replace(/\W+/g, "_")}-${loadgen.join("_").replace(/\W+/g, "")}`;
  const entry = `${ROOT}bench/profile_entry.ts`;
  const server = `${ROOT}bench/servers/${file}`;
  // One directory per run: Node writes a profile per thread (tsx's loader
  // runs in a worker), and the busiest one is the server's.
  const dir = `${OUT}${name}-${Date.now()}/`;
  mkdirSync(dir, { recursive: true });
  const prof = [`--cpu-prof-dir=${dir}`];
  const [command, argv] = runtime === "deno"
    ? [`${ROOT}node_modules/.bin/deno`, ["run", "-A", "--unstable-net", ...prof, entry, server, "0"]]
    : runtime === "bun"
    ? [`${ROOT}node_modules/.bin/bun`, ["--cpu-prof", ...prof, entry, server, "0"]]
    : ["node", ["--import", "tsx", "--cpu-prof", ...prof, entry, server, "0"]];
  const child = spawn(command, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const port = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
  const args = loadgen.length > 0 ? loadgen : ["rr", "--conns", "32", "--depth", "1"];
  const hasTiming = args.includes("--duration");
  const lg = spawn(`${OUT}loadgen`, [...args, "--port", port.trim(), ...(hasTiming ? [] : ["--duration", "5"])], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  await new Promise((resolve) => lg.on("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  const written = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => `${dir}${f}`);
  if (written.length === 0) throw new Error(`no profile written in ${dir}`);
  const busiest = written.map((path) => ({ path, busy: busySamples(path) })).sort((a, b) => b.busy - a.busy)[0];
  console.log(busiest.path.replace(ROOT, ""));
  console.log(summarize(busiest.path));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
