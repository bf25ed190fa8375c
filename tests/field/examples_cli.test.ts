// The examples and the `doorway` command as a user meets them, on the runtime running this file (each runtime's
// test runner checks its own): --help, a mistake in the flags (one line on stderr, exit 2, before any prompt or
// socket), `localhost`, and a client waiting for a reply that never comes (one line, exit 1, within --timeout).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Conn, listen } from "../../mod.ts";
import { runtimeName } from "../../runtime/select.ts";
import { type Child, startChild } from "../_helpers.ts";
import { ROOT, runtimeCommand } from "../_runtimes.ts";
import { type Finished, LOOPBACK, runCommand } from "./_field.ts";

const RUNTIME = runtimeName();
// A program that hangs is killed after this long, and the test fails instead of the suite.
const KILL_MS = 20_000;
const SLOW = { timeout: 60_000 };

/** Runs `file` (from the repository root) under this runtime to its end, with `input` on stdin. */
function run(file: string, args: string[], input = ""): Promise<Finished> {
  const [command, commandArgs] = runtimeCommand(RUNTIME, file, args);
  return runCommand(command, commandArgs, { input, ms: KILL_MS });
}

/** What a mistake must produce: nothing on stdout (no prompt), one line on stderr, exit 2. */
const usageError = (message: string): Finished => ({ code: 2, stdout: "", stderr: message + "\n" });

interface Example {
  flags: string[];
  /**
   * Arguments placed before each case's own. Servers get a free loopback port, so that a case that wrongly
   * starts one binds nothing in the way.
   */
  base: readonly string[];
  /** A value out of range, and its message. */
  bad: [string[], string];
}

const MAX_INT = 2 ** 31 - 1;

const EXAMPLES: Record<string, Example> = {
  "examples/tcp_server.ts": {
    flags: ["--hostname", "--port", "--max-connections", "--max-line-bytes", "--idle-timeout", "--graceful-timeout"],
    base: LOOPBACK,
    bad: [["--max-connections", "0"], `Invalid --max-connections "0": must be an integer from 1 to ${MAX_INT}`],
  },
  "examples/tcp_client.ts": {
    flags: ["--hostname", "--port", "--timeout"],
    base: [],
    bad: [["--port", "0"], 'Invalid --port "0": must be an integer from 1 to 65535'],
  },
  "examples/udp_server.ts": {
    flags: ["--hostname", "--port"],
    base: ["--hostname", "127.0.0.1"],
    bad: [["--port", "70000"], 'Invalid --port "70000": must be an integer from 0 to 65535'],
  },
  "examples/udp_client.ts": {
    flags: ["--hostname", "--port", "--timeout", "--retries"],
    base: [],
    bad: [["--timeout", "1.5"], `Invalid --timeout "1.5": must be an integer from 1 to ${MAX_INT}`],
  },
  "examples/udp_ping.ts": {
    flags: ["--hostname", "--port", "--count", "--timeout"],
    base: [],
    bad: [["--count", "0"], `Invalid --count "0": must be an integer from 1 to ${MAX_INT}`],
  },
  "examples/udp_ping_server.ts": {
    flags: ["--hostname", "--port", "--loss", "--seed"],
    base: LOOPBACK,
    bad: [["--loss", "2"], 'Invalid --loss "2": must be a number from 0 to 1'],
  },
};

describe(`the examples on ${RUNTIME}`, () => {
  for (const [file, { flags, base, bad }] of Object.entries(EXAMPLES)) {
    test(`${file} --help: usage on stdout, every flag, exit 0`, SLOW, async () => {
      const [help, short] = await Promise.all([run(file, ["--help"]), run(file, ["-h"])]);
      assert.equal(help.stderr, "");
      assert.equal(help.code, 0);
      const lines = help.stdout.split("\n");
      assert.equal(lines[0], `Usage: ${file} [options]`);
      for (const flag of [...flags, "--help"]) {
        assert.ok(lines.some((line) => line.trimStart().startsWith(flag + " ") || line.includes(` ${flag} `)), flag);
      }
      assert.deepEqual(short, help);
    });

    test(`${file}: a mistake is one line on stderr and exit 2, before any prompt`, SLOW, async () => {
      const cases: Array<[string[], string]> = [
        [["--bogus"], 'Unknown option "--bogus"; see --help'],
        [["--port"], 'Option "--port" needs a value; see --help'],
        [["extra"], 'Unexpected argument "extra"; see --help'],
        bad,
      ];
      const results = await Promise.all(cases.map(([args]) => run(file, [...base, ...args], "hello\n")));
      cases.forEach(([args, message], i) => assert.deepEqual(results[i], usageError(message), args.join(" ")));
    });
  }
});

/** A TCP server that accepts and never replies; `conns` are closed by `close()`. */
async function silentServer() {
  const listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) conns.push(conn);
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      await accepting;
      for (const conn of conns) conn.close();
    },
  };
}

describe(`TCP clients on ${RUNTIME}: a reply that never comes`, () => {
  test("examples/tcp_client.ts: one line, exit 1, once --timeout has passed", SLOW, async () => {
    const server = await silentServer();
    try {
      const started = performance.now();
      const client = await run("examples/tcp_client.ts", ["--port", String(server.port), "--timeout", "300"], "hi\n");
      const elapsed = performance.now() - started;
      assert.deepEqual(client, {
        code: 1,
        stdout: "Input lowercase sentence: \n",
        stderr: `Cannot read from 127.0.0.1:${server.port}: timed out after 300 ms\n`,
      });
      assert.ok(elapsed >= 300, `gave up after ${elapsed} ms`);
    } finally {
      await server.close();
    }
  });

  test("doorway tcp-client: one line, exit 1, once --timeout has passed", SLOW, async () => {
    const server = await silentServer();
    try {
      const started = performance.now();
      const client = await run("cli.ts", ["tcp-client", "127.0.0.1", String(server.port), "--timeout", "300"], "hi\n");
      const elapsed = performance.now() - started;
      assert.deepEqual(client, {
        code: 1,
        stdout: "",
        stderr: `Cannot request from 127.0.0.1:${server.port}: timed out after 300 ms\n`,
      });
      assert.ok(elapsed >= 300, `gave up after ${elapsed} ms`);
    } finally {
      await server.close();
    }
  });
});

/** Waits for a server sent SIGTERM to stop cleanly. */
async function stopped(server: Child): Promise<void> {
  const code = await server.exited;
  // Deno's node:child_process reports the signal that kill() sent, even when the child handled it and exited 0
  // (as libuv does on Windows); cli.test.ts checks these exit codes from Node.
  if (RUNTIME !== "deno") assert.equal(code, 0, server.stderr());
  assert.equal(server.stderr(), "");
}

describe(`localhost on ${RUNTIME}`, () => {
  // Where localhost resolves to ::1 first, the servers listen there: either is right, an IPv6 one in brackets.
  const LOCALHOST = String.raw`(127\.0\.0\.1|\[::1\])`;

  test("doorway tcp-server --hostname localhost, doorway tcp-client localhost PORT", SLOW, async () => {
    const [command, args] = runtimeCommand(RUNTIME, "cli.ts", ["tcp-server", "--hostname", "localhost", "--port", "0"]);
    const server = startChild(command, args, { cwd: ROOT });
    try {
      const listening = await server.nextLine();
      const match = new RegExp(`^Listening on tcp ${LOCALHOST}:(\\d+) \\(service: upper\\)$`).exec(listening);
      assert.ok(match, `${listening} ${server.stderr()}`);
      const client = await run("cli.ts", ["tcp-client", "localhost", match[2]], "hello\nlocal host\n");
      assert.deepEqual(client, { code: 0, stdout: "HELLO\nLOCAL HOST\n", stderr: "" });
    } finally {
      server.kill("SIGTERM");
    }
    await stopped(server);
  });

  test("examples/tcp_server.ts on :: names its address as a URL does: [::]:PORT", SLOW, async () => {
    const [command, args] = runtimeCommand(RUNTIME, "examples/tcp_server.ts", ["--hostname", "::", "--port", "0"]);
    const server = startChild(command, args, { cwd: ROOT });
    try {
      const listening = await server.nextLine();
      assert.match(listening, /^Listening on \[::\]:\d+$/, server.stderr());
    } finally {
      server.kill("SIGTERM");
    }
    await stopped(server);
  });

  test("examples/tcp_server.ts and tcp_client.ts with --hostname localhost", SLOW, async () => {
    const [command, args] = runtimeCommand(RUNTIME, "examples/tcp_server.ts", [
      "--hostname",
      "localhost",
      "--port",
      "0",
    ]);
    const server = startChild(command, args, { cwd: ROOT });
    try {
      const listening = await server.nextLine();
      const match = new RegExp(`^Listening on ${LOCALHOST}:(\\d+)$`).exec(listening);
      assert.ok(match, `${listening} ${server.stderr()}`);
      assert.equal(await server.nextLine(), "The server is ready to receive");
      const client = await run("examples/tcp_client.ts", ["--hostname", "localhost", "--port", match[2]], "hi\n");
      assert.deepEqual(client, { code: 0, stdout: "Input lowercase sentence: \nFrom Server: HI\n", stderr: "" });
    } finally {
      server.kill("SIGTERM");
    }
    await stopped(server);
  });

  // Deno's, whichever runtime runs this file: the message must say how to grant the permission.
  test("Deno without --allow-net: one line that says how to grant it, exit 1", SLOW, async () => {
    const deno = `${ROOT}node_modules/.bin/deno`;
    const hint = "permission denied (run Deno with --allow-net)";
    assert.deepEqual(await runCommand(deno, ["run", "examples/tcp_server.ts", "--port", "0"], { ms: KILL_MS }), {
      code: 1,
      stdout: "",
      stderr: `Cannot listen on 0.0.0.0:0: ${hint}\n`,
    });
    assert.deepEqual(
      await runCommand(deno, ["run", "cli.ts", "tcp-client", "127.0.0.1", "9"], { input: "hi\n", ms: KILL_MS }),
      {
        code: 1,
        stdout: "",
        stderr: `Cannot connect to 127.0.0.1:9: ${hint}\n`,
      },
    );
    assert.deepEqual(await runCommand(deno, ["run", "cli.ts", "udp-server", "--port", "0"], { ms: KILL_MS }), {
      code: 1,
      stdout: "",
      stderr: `Cannot bind 0.0.0.0:0: ${hint}\n`,
    });
  });
});
