// `npm test`: the conformance suite under Deno, Bun and Node, one after the
// other, then a total. Fails if any runtime fails. Plain JavaScript so that it
// needs nothing but Node to start.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import process from "node:process";

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

// Node 20's --test takes no directory or glob: name the files, tests/ and tests/field/ (the field suite; Deno
// and Bun find it themselves).
const testFilesIn = (dir) =>
  readdirSync(new URL(`../${dir}/`, import.meta.url)).filter((f) => f.endsWith(".test.ts")).sort()
    .map((f) => `${dir}/${f}`);
const testFiles = [...testFilesIn("tests"), ...testFilesIn("tests/field")];

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
    // The UDP suite again on Deno's native Deno.listenDatagram path.
    name: "deno-unstable-net",
    command: [
      bin("deno"),
      "test",
      "-A",
      "--no-prompt",
      "--unstable-net",
      "tests/udp.test.ts",
      "tests/field/udp_replies.test.ts",
      "tests/field/udp_addresses.test.ts",
    ],
    counts: denoCounts,
  },
  {
    name: "checks",
    run: runChecks,
    command: ["deno check, lint, fmt --check, doc --lint, test --doc, publish --dry-run"],
    counts: checkCounts,
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

// Static checks of the package as JSR would see it; each counts as a test.
const DENO_CHECKS = [
  ["deno check", ["check", "."]],
  ["deno lint", ["lint"]],
  ["deno fmt --check", ["fmt", "--check"]],
  ["deno doc --lint", ["doc", "--lint", "mod.ts", "tcp/mod.ts", "udp/mod.ts", "protocol/mod.ts", "cli.ts"]],
  ["deno test --doc", [
    "test",
    "-A",
    "--no-prompt",
    "--doc",
    "mod.ts",
    "tcp/",
    "udp/",
    "protocol/",
    "socket_error.ts",
    "_args_error.ts",
    "_error_log.ts",
    "_rejection_log.ts",
    "cli.ts",
  ]],
  ["deno publish --dry-run", ["publish", "--dry-run", "--allow-dirty"]],
];

function checkCounts(out) {
  const passed = (out.match(/^check ok: /gm) ?? []).length;
  const failed = (out.match(/^check FAILED: /gm) ?? []).length;
  return [passed, failed];
}

async function runChecks() {
  let out = "";
  let code = 0;
  for (const [name, args] of DENO_CHECKS) {
    // Paths not written yet (cli.ts, bench/) are left out rather than failing.
    const present = args.filter((a) => !(a.endsWith(".ts") || a.endsWith("/")) || existsSync(a));
    const result = await run({ command: [bin("deno"), ...present] });
    // Publishing with warnings (slow types) must fail too, not only errors.
    const warned = name === "deno publish --dry-run" && /warning/i.test(result.out);
    const line = result.code === 0 && !warned ? `check ok: ${name}` : `check FAILED: ${name}`;
    if (line.startsWith("check FAILED")) code = 1;
    console.log(line);
    out += line + "\n";
  }
  return { code, out };
}

function run(suite) {
  return new Promise((resolve) => {
    const [command, ...args] = suite.command;
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
    });
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
  const { code, out } = await (suite.run ? suite.run() : run(suite));
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
