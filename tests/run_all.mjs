// `npm test`: the suite under Node, Deno and Bun, one after the other, then a total. Fails if any runtime fails, or if
// the conformance suite does not have the same number of tests under each runtime. Plain JavaScript so that it needs
// nothing but Node to start.
//
// Each directory of tests/ runs as its own command per runtime, so that its counts are its own:
//   tests/conformance/  the public API only, the same files and the same tests under every runtime
//   tests/unit/         pure code: codecs, property tests with fixed seeds, the import graph
//   tests/pins/         one test per entry of runtime/UNDOCUMENTED.md
//   tests/field/        the field suite: real processes, hostile peers
//   tests/*.test.ts     files not yet sorted into one of the above
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

// Paths below are relative to the repository root, wherever this was started from.
process.chdir(new URL("..", import.meta.url).pathname);

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

const GROUPS = [
  ["conformance", "tests/conformance"],
  ["unit", "tests/unit"],
  ["pins", "tests/pins"],
  ["field", "tests/field"],
  ["top-level", "tests"],
];

// Files are named one by one: Node 20's --test takes no directory or glob, and Bun reads a bare word as a filter.
const testFilesIn = (dir) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".test.ts")).sort().map((f) => `./${dir}/${f}`) : [];

const junitDir = mkdtempSync(join(tmpdir(), "doorway-tests-"));
process.on("exit", () => rmSync(junitDir, { recursive: true, force: true }));

/** The command for `files` under `runtime`, and how to read its counts; `deno-unstable-net` is Deno's native UDP. */
function testSuite(runtime, group, files) {
  const name = `${runtime} ${group}`;
  switch (runtime) {
    case "node":
      return { name, runtime, group, command: ["node", "--import", "tsx", "--test", ...files], counts: nodeCounts };
    case "bun":
      return { name, runtime, group, command: [bin("bun"), "test", ...files], counts: bunCounts };
    default: {
      // Deno's summary counts describe() blocks as tests and their test() calls as steps; its JUnit report lists
      // both, so the tests are counted there, as the leaves.
      const junit = join(junitDir, `${runtime}-${group}.xml`);
      const unstable = runtime === "deno-unstable-net" ? ["--unstable-net"] : [];
      return {
        name,
        runtime,
        group,
        command: [bin("deno"), "test", "-A", "--no-prompt", ...unstable, `--junit-path=${junit}`, ...files],
        counts: () => denoCounts(junit),
      };
    }
  }
}

const suites = [];
for (const runtime of ["node", "deno", "deno-unstable-net", "checks", "bun"]) {
  if (runtime === "checks") {
    suites.push({
      name: "checks",
      runtime,
      group: "checks",
      run: runChecks,
      command: ["deno check, lint, fmt --check, doc --lint, test --doc, publish --dry-run"],
      counts: checkCounts,
    });
  } else if (runtime === "deno-unstable-net") {
    // The UDP conformance and field files again on Deno's native Deno.listenDatagram path.
    const files = [
      "./tests/conformance/udp.test.ts",
      "./tests/field/udp_replies.test.ts",
      "./tests/field/udp_addresses.test.ts",
    ];
    suites.push(testSuite(runtime, "udp", files));
  } else {
    for (const [group, dir] of GROUPS) {
      const files = testFilesIn(dir);
      if (files.length > 0) suites.push(testSuite(runtime, group, files));
    }
  }
}

/** Counts as { passed, failed, skipped }; NaN where the output did not say. */
function nodeCounts(out) {
  const count = (word) => Number(new RegExp(`^# ${word} (\\d+)$`, "m").exec(out)?.[1] ?? NaN);
  return {
    passed: count("pass"),
    failed: count("fail") + count("cancelled"),
    skipped: count("skipped") + count("todo"),
  };
}

function bunCounts(out) {
  const count = (word) => Number(new RegExp(`^\\s*(\\d+) ${word}$`, "m").exec(out)?.[1] ?? 0);
  // "Ran N tests" is always there when Bun ran anything; the other lines only when their count is not 0.
  if (!/^Ran \d+ tests?/m.test(out)) return { passed: NaN, failed: NaN, skipped: NaN };
  // A file that fails to load is an error, not a failed test: it fails the run all the same.
  return { passed: count("pass"), failed: count("fail") + count("errors?"), skipped: count("skip") + count("todo") };
}

/** The leaves of Deno's JUnit report: the test cases no other case is a step of. */
function denoCounts(junit) {
  if (!existsSync(junit)) return { passed: NaN, failed: NaN, skipped: NaN };
  const cases = [...readFileSync(junit, "utf8").matchAll(/<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)]
    .map(([, name, body]) => ({ name, failed: /<failure/.test(body), skipped: /<skipped/.test(body) }));
  const parents = new Set(cases.flatMap(({ name }) => {
    const parts = name.split(" &gt; ");
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join(" &gt; "));
  }));
  const leaves = cases.filter(({ name }) => !parents.has(name));
  const failed = leaves.filter((c) => c.failed).length;
  const skipped = leaves.filter((c) => c.skipped).length;
  return { passed: leaves.length - failed - skipped, failed, skipped };
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
  return { passed, failed, skipped: 0 };
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

// Arguments pick suites by runtime ("node", "deno", "deno-unstable-net", "checks", "bun"), by directory
// ("conformance", "unit", "pins", "field", "top-level") or both ("node:unit").
const only = process.argv.slice(2);
const picked = suites.filter((suite) =>
  only.length === 0 || [suite.runtime, suite.group, `${suite.runtime}:${suite.group}`].some((n) => only.includes(n))
);
let passed = 0;
let failed = 0;
const summary = [];
const conformance = {};
for (const suite of picked) {
  console.log(`\n=== ${suite.name}: ${suite.command.join(" ")}`);
  const { code, out } = await (suite.run ? suite.run() : run(suite));
  const { passed: p, failed: f, skipped: s } = suite.counts(out);
  // A runner that ran nothing has failed, whatever its exit code.
  const ok = code === 0 && p > 0 && f === 0;
  summary.push(
    `${suite.name}: ${ok ? "ok" : "FAILED"} (${p} passed, ${f} failed, ${s} skipped, exit ${code})`,
  );
  if (suite.group === "conformance") conformance[suite.runtime] = p + f + s;
  passed += Number.isFinite(p) ? p : 0;
  failed += ok ? 0 : Math.max(1, Number.isFinite(f) ? f : 0);
}
console.log(`\n${summary.join("\n")}`);

// The conformance suite is the same files under every runtime: the same number of tests, or something was left out.
const ran = Object.entries(conformance);
if (ran.length > 0) {
  const counts = ran.map(([runtime, n]) => `${runtime} ${n}`).join(", ");
  const same = ran.every(([, n]) => Number.isFinite(n) && n === ran[0][1]);
  if (ran.length < 3) console.log(`conformance tests per runtime: ${counts} (not every runtime ran)`);
  else console.log(`conformance tests per runtime: ${counts}: ${same ? "identical" : "DIFFERENT"}`);
  if (!same) failed += 1;
}
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
