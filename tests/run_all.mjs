// `npm test`: the conformance suite under Deno, Bun and Node, one after the
// other, then a total. Fails if any runtime fails. Plain JavaScript so that it
// needs nothing but Node to start.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import process from "node:process";

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

// Node 20's --test takes no directory or glob: name the files.
const testFiles = readdirSync(new URL(".", import.meta.url)).filter((f) => f.endsWith(".test.ts")).sort()
  .map((f) => `tests/${f}`);

// Each entry: a name, a command, and how to read its pass/fail counts.
const suites = [
  {
    name: "node",
    command: ["node", "--import", "tsx", "--test", ...testFiles],
    counts: (out) => [/^# pass (\d+)$/m, /^# fail (\d+)$/m].map((re) => Number(re.exec(out)?.[1] ?? NaN)),
  },
  {
    name: "deno",
    command: [bin("deno"), "test", "-A", "--no-prompt", "tests/"],
    counts: denoCounts,
  },
  {
    name: "bun",
    command: [bin("bun"), "test", "tests/"],
    counts: (out) => [/^\s*(\d+) pass$/m, /^\s*(\d+) fail$/m].map((re) => Number(re.exec(out)?.[1] ?? NaN)),
  },
];

// Deno counts describe() blocks as tests and their test() calls as steps.
function denoCounts(out) {
  // deno-lint-ignore no-control-regex
  const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
  const m = /(\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/.exec(plain);
  if (!m) return [NaN, NaN];
  return [Number(m[2] ?? m[1]), Number(m[4] ?? m[3])];
}

function run(suite) {
  return new Promise((resolve) => {
    const [command, ...args] = suite.command;
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk) => {
      out += chunk;
      process.stderr.write(chunk);
    });
    child.on("close", (code) => resolve({ code, out }));
  });
}

const only = process.argv.slice(2);
let passed = 0;
let failed = 0;
const summary = [];
for (const suite of suites) {
  if (only.length > 0 && !only.includes(suite.name)) continue;
  console.log(`\n=== ${suite.name}: ${suite.command.join(" ")}`);
  const { code, out } = await run(suite);
  const [p, f] = suite.counts(out);
  // A runner that ran nothing has failed, whatever its exit code.
  const ok = code === 0 && p > 0 && f === 0;
  summary.push(`${suite.name}: ${ok ? "ok" : "FAILED"} (${p} passed, ${f} failed, exit ${code})`);
  passed += Number.isFinite(p) ? p : 0;
  failed += ok ? 0 : Math.max(1, Number.isFinite(f) ? f : 0);
}
console.log(`\n${summary.join("\n")}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
