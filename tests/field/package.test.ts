// doorway as a dependency: `npm pack` the repository, install the tarball into a new project with npm and with
// Bun, and import every entry point by name (`@doorway/sockets`, `/tcp`, `/udp`, `/protocol`, `/cli`) from a
// program that runs a server and gets "HELLO" back. Node runs no TypeScript inside node_modules by itself, so
// the Node project has tsx installed next to doorway, as the README says; Bun needs nothing. Deno refuses
// TypeScript inside node_modules too (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING): Deno users take the JSR
// package or the source, so no Deno project is tested here. Everything runs offline: doorway has no runtime
// dependencies, and the tarball is a local file.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { VERSION } from "../../cli.ts";
import { ROOT } from "../_runtimes.ts";
import { type Finished, runCommand } from "./_field.ts";

const BUN = join(ROOT, "node_modules", ".bin", "bun");
// Each step is a short local operation; a step that hangs fails the test instead of the suite.
const STEP_MS = 30_000;
const SLOW = { timeout: 120_000 };

/** Runs a command to its end, killing it after STEP_MS; resolves with its exit code and output. */
function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }) {
  return runCommand(command, args, { ...options, ms: STEP_MS });
}

function describeRun(what: string, result: Finished): string {
  return `${what} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

// Every entry point by name, each doing one round trip.
const PROGRAM = `import { connect, serveLines } from "@doorway/sockets";
import { LineClient } from "@doorway/sockets/tcp";
import { bind, request, serveDatagrams } from "@doorway/sockets/udp";
import { uppercase } from "@doorway/sockets/protocol";
import { main } from "@doorway/sockets/cli";

const server = await serveLines({ hostname: "127.0.0.1", port: 0 }, uppercase);
const conn = await connect({ hostname: "127.0.0.1", port: server.addr.port, timeout: 5000 });
await conn.write("hello\\n");
console.log(await conn.readLine());
conn.close();
const client = await LineClient.connect({ hostname: "127.0.0.1", port: server.addr.port, timeout: 5000 });
console.log(await client.request("tcp", { timeout: 5000 }));
client.close();
await server.close();

const decoder = new TextDecoder();
const udp = await serveDatagrams({ hostname: "127.0.0.1", port: 0 }, (data) => uppercase(decoder.decode(data)));
const socket = await bind({ hostname: "127.0.0.1", port: 0 });
const reply = await request("udp", { socket, to: udp.addr, timeout: 5000 });
console.log(decoder.decode(reply.data));
socket.close();
await udp.close();

process.exitCode = await main(["--version"]);
`;

const EXPECTED = `HELLO\nTCP\nUDP\ndoorway ${VERSION}\n`;

/** A new project with nothing but a package.json and the program. */
function newProject(dir: string): string {
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  writeFileSync(join(dir, "main.ts"), PROGRAM);
  return dir;
}

describe("the npm package, installed", () => {
  let temp = "";
  let tarball = "";

  before(async () => {
    temp = mkdtempSync(join(tmpdir(), "doorway-package-"));
    const packed = await run("npm", ["pack", "--json", "--pack-destination", temp], { cwd: ROOT });
    assert.equal(packed.code, 0, describeRun("npm pack", packed));
    const [{ filename, files }] = JSON.parse(packed.stdout) as Array<
      { filename: string; files: Array<{ path: string }> }
    >;
    tarball = join(temp, filename);
    const paths = files.map(({ path }) => path);
    // What a program needs is in; the repository's tests, benchmarks and examples are not.
    for (const path of ["package.json", "mod.ts", "cli.ts", "tcp/mod.ts", "udp/mod.ts", "protocol/mod.ts"]) {
      assert.ok(paths.includes(path), `the tarball lacks ${path}`);
    }
    for (const path of ["bin/doorway.mjs", "runtime/node/tcp.ts", "runtime/deno/tcp.ts", "runtime/bun/tcp.ts"]) {
      assert.ok(paths.includes(path), `the tarball lacks ${path}`);
    }
    const stray = paths.filter((path) => /^(tests|bench|examples|node_modules|tmp_scratch)\//.test(path));
    assert.deepEqual(stray, []);
  });

  after(() => {
    if (temp !== "") rmSync(temp, { recursive: true, force: true });
  });

  test("npm i <tarball>: Node with tsx imports every entry point by name", SLOW, async () => {
    const app = newProject(join(temp, "node-app"));
    const installed = await run(
      "npm",
      ["install", "--offline", "--no-audit", "--no-fund", "--cache", join(temp, "npm-cache"), tarball],
      { cwd: app },
    );
    assert.equal(installed.code, 0, describeRun("npm install", installed));
    const manifest = JSON.parse(readFileSync(join(app, "node_modules/@doorway/sockets/package.json"), "utf8"));
    assert.equal(manifest.version, VERSION);

    // The bin says what is missing, in one line, before tsx is installed.
    const doorway = join(app, "node_modules", ".bin", "doorway");
    const withoutTsx = await run(doorway, ["--version"], { cwd: app });
    assert.deepEqual(withoutTsx, {
      code: 1,
      stdout: "",
      stderr: "Cannot run doorway on Node: it needs tsx (npm install tsx)\n",
    });

    // `npm install tsx`, offline: this repository's copy, linked in (its own dependencies resolve from here).
    symlinkSync(join(ROOT, "node_modules", "tsx"), join(app, "node_modules", "tsx"), "dir");
    const ran = await run("node", ["--import", "tsx", "main.ts"], { cwd: app });
    assert.deepEqual(ran, { code: 0, stdout: EXPECTED, stderr: "" }, describeRun("node --import tsx main.ts", ran));
    const version = await run(doorway, ["--version"], { cwd: app });
    assert.deepEqual(version, { code: 0, stdout: `doorway ${VERSION}\n`, stderr: "" });
  });

  test("bun add <tarball>: Bun imports every entry point by name", SLOW, async () => {
    const app = newProject(join(temp, "bun-app"));
    // A cache of its own: nothing is fetched, and the user's cache is left alone.
    const env = { BUN_INSTALL_CACHE_DIR: join(temp, "bun-cache") };
    const added = await run(BUN, ["add", tarball], { cwd: app, env });
    assert.equal(added.code, 0, describeRun("bun add", added));
    const ran = await run(BUN, ["main.ts"], { cwd: app, env });
    assert.deepEqual(ran, { code: 0, stdout: EXPECTED, stderr: "" }, describeRun("bun main.ts", ran));
    // `--bun`: the bin's #! line names node, which bunx would otherwise honour.
    const version = await run(BUN, ["x", "--bun", "doorway", "--version"], { cwd: app, env });
    assert.deepEqual(version, { code: 0, stdout: `doorway ${VERSION}\n`, stderr: "" });
  });
});
