// The `doorway` command (cli.ts) under Deno, Bun and Node, as a user runs it: servers on --port 0, clients fed
// through stdin, exit codes and the exact one-line messages for bad input and network failures. Each runtime's run
// starts the command under that runtime, so the three runs together cover all three, with the same tests.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { VERSION } from "../../cli.ts";
import { connect } from "../../mod.ts";
import { type Child, finish, type Finished, rejectionsLogged, resetConnections, startChild } from "../_helpers.ts";
import { CURRENT_RUNTIME, ROOT, type RuntimeId, startUnder } from "../_runtimes.ts";

const SLOW = { timeout: 60_000 };

function doorway(runtime: RuntimeId, args: string[]): Child {
  return startUnder(runtime, "cli.ts", args);
}

/** Runs the command to its end, with `input` on stdin; returns its exit code and output. */
async function run(runtime: RuntimeId, args: string[], input = ""): Promise<Finished> {
  const child = doorway(runtime, args);
  child.write(input);
  child.endInput();
  return await finish(child);
}

/** Starts `tcp-server` or `udp-server` on a free port of 127.0.0.1; returns it with the port it printed. */
async function startServer(
  runtime: RuntimeId,
  proto: "tcp" | "udp",
  service: "upper" | "echo",
): Promise<{ server: Child; port: number }> {
  const server = doorway(runtime, [`${proto}-server`, "--hostname", "127.0.0.1", "--port", "0", "--service", service]);
  const listening = await server.nextLine();
  const match = new RegExp(`^Listening on ${proto} 127\\.0\\.0\\.1:(\\d+) \\(service: ${service}\\)$`).exec(listening);
  assert.ok(match, `${runtime} ${proto}-server said: ${listening} ${server.stderr()}`);
  return { server, port: Number(match[1]) };
}

/** Stops a server with a signal and checks that it stopped cleanly. */
async function stop(server: Child, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  server.kill(signal);
  assert.equal(await server.exited, 0, server.stderr());
  assert.equal(server.stderr(), "");
}

// A tcp-server that serves one connection at a time, on a free port of 127.0.0.1.
const LIMITED_SERVER = ["tcp-server", "--hostname", "127.0.0.1", "--port", "0", "--max-connections", "1"];

const SENTENCES = ["hello", "café au lait", "", "straße", "  spaced  out  ", "x".repeat(2000)];
// Enough lines that many are in flight at once over the one connection.
const MANY = Array.from({ length: 500 }, (_, i) => `line ${i}`);

const REPLY = (seq: number) => new RegExp(`^Reply from 127\\.0\\.0\\.1: seq=${seq} time=\\d+\\.\\d\\d ms$`);
const RTT = /^rtt min\/avg\/max = (\d+\.\d\d)\/(\d+\.\d\d)\/(\d+\.\d\d) ms$/;

test("VERSION is deno.json's and package.json's version", () => {
  const deno = JSON.parse(readFileSync(new URL("../../deno.json", import.meta.url), "utf8"));
  const npm = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  assert.equal(VERSION, deno.version);
  assert.equal(VERSION, npm.version);
});

const runtime = CURRENT_RUNTIME;

describe(`the doorway command under ${runtime}`, () => {
  test(`${runtime}: tcp-client pipes stdin's lines through tcp-server, replies in order`, SLOW, async () => {
    const { server, port } = await startServer(runtime, "tcp", "upper");
    try {
      const lines = [...SENTENCES, ...MANY];
      const client = await run(runtime, ["tcp-client", "127.0.0.1", String(port)], lines.join("\n") + "\n");
      assert.equal(client.stderr, "");
      assert.equal(client.code, 0);
      assert.deepEqual(client.stdout, lines.map((line) => line.toUpperCase()));
      // \r\n ends a line too, and a last line without a newline is still sent.
      const crlf = await run(runtime, ["tcp-client", "127.0.0.1", String(port)], "one\r\ntwo\r\nthree");
      assert.equal(crlf.code, 0, crlf.stderr);
      assert.deepEqual(crlf.stdout, ["ONE", "TWO", "THREE"]);
    } finally {
      await stop(server, "SIGINT");
    }
  });

  test(`${runtime}: tcp-server --service echo`, SLOW, async () => {
    const { server, port } = await startServer(runtime, "tcp", "echo");
    try {
      const client = await run(runtime, ["tcp-client", "127.0.0.1", String(port)], SENTENCES.join("\n") + "\n");
      assert.equal(client.code, 0, client.stderr);
      assert.deepEqual(client.stdout, SENTENCES);
    } finally {
      await stop(server);
    }
  });

  test(`${runtime}: tcp-server logs no peer resets`, SLOW, async () => {
    const server = doorway(runtime, LIMITED_SERVER);
    try {
      const port = Number(/:(\d+) /.exec(await server.nextLine())?.[1]);
      assert.equal(await resetConnections(port, 5), "DONE");
      server.kill("SIGTERM");
      assert.equal(await server.exited, 0, server.stderr());
      // Only the retries turned away may be logged, counted.
      rejectionsLogged(server.stderr());
    } finally {
      server.kill("SIGKILL");
    }
  });

  test(`${runtime}: tcp-server counts connections over --max-connections on stderr`, SLOW, async () => {
    const started = performance.now();
    const server = doorway(runtime, LIMITED_SERVER);
    const turnedAway = 10;
    try {
      const port = Number(/:(\d+) /.exec(await server.nextLine())?.[1]);
      const held = await connect({ port });
      await held.write("hold\n");
      assert.equal(await held.readLine(), "HOLD");
      for (let i = 0; i < turnedAway; i++) {
        await using conn = await connect({ port });
        // Closed at once, unread: the server has counted it by now.
        assert.equal(await conn.read(new Uint8Array(1)), null);
      }
      // Ended by both sides before the signal, so that shutdown finds no
      // connection open and says nothing of one.
      await held.closeWrite();
      assert.equal(await held.readLine(), null);
      held.close();
      server.kill("SIGTERM");
      assert.equal(await server.exited, 0, server.stderr());
      assert.equal(rejectionsLogged(server.stderr()), turnedAway, server.stderr());
      // At most one line a second, and one more on the way out.
      const lines = server.stderr().trimEnd().split("\n").length;
      assert.ok(lines <= Math.floor((performance.now() - started) / 1000) + 1, server.stderr());
    } finally {
      server.kill("SIGKILL");
    }
  });

  test(`${runtime}: udp-client sends stdin's lines to udp-server, one datagram each`, SLOW, async () => {
    const { server, port } = await startServer(runtime, "udp", "upper");
    try {
      const client = await run(
        runtime,
        ["udp-client", "127.0.0.1", String(port), "--timeout", "5000", "--retries", "0"],
        SENTENCES.join("\n") + "\n",
      );
      assert.equal(client.stderr, "");
      assert.equal(client.code, 0);
      assert.deepEqual(client.stdout, SENTENCES.map((line) => line.toUpperCase()));
    } finally {
      await stop(server, "SIGINT");
    }
  });

  test(`${runtime}: ping against udp-server --service echo, as text and as --json`, SLOW, async () => {
    const { server, port } = await startServer(runtime, "udp", "echo");
    try {
      const args = ["ping", "127.0.0.1", String(port), "--count", "3", "--interval", "0", "--timeout", "5000"];
      const text = await run(runtime, args);
      assert.equal(text.stderr, "");
      assert.equal(text.code, 0);
      assert.equal(text.stdout.length, 6, text.stdout.join("\n"));
      for (let seq = 1; seq <= 3; seq++) assert.match(text.stdout[seq - 1], REPLY(seq));
      assert.equal(text.stdout[3], "--- 127.0.0.1 ping statistics ---");
      assert.equal(text.stdout[4], "3 packets transmitted, 3 received, 0% packet loss");
      const rtt = RTT.exec(text.stdout[5]);
      assert.ok(rtt, text.stdout[5]);
      const [min, avg, max] = rtt.slice(1).map(Number);
      assert.ok(min <= avg && avg <= max, text.stdout[5]);

      const json = await run(runtime, [...args, "--json"]);
      assert.equal(json.stderr, "");
      assert.equal(json.code, 0);
      assert.equal(json.stdout.length, 1, json.stdout.join("\n"));
      const result = JSON.parse(json.stdout[0]);
      assert.equal(result.host, "127.0.0.1");
      assert.equal(result.port, port);
      assert.equal(result.count, 3);
      assert.equal(result.received, 3);
      assert.equal(result.loss, 0);
      assert.deepEqual(result.pings.map((ping: { seq: number }) => ping.seq), [1, 2, 3]);
      for (const ping of result.pings) assert.equal(typeof ping.time, "number");
      assert.ok(result.rtt.min <= result.rtt.avg && result.rtt.avg <= result.rtt.max, json.stdout[0]);
    } finally {
      await stop(server);
    }
  });

  test(`${runtime}: ping with no server: every ping lost, exit 1`, SLOW, async () => {
    const args = ["ping", "127.0.0.1", "9", "--count", "2", "--interval", "0", "--timeout", "200"];
    const text = await run(runtime, args);
    assert.equal(text.stderr, "");
    assert.equal(text.code, 1);
    assert.deepEqual(text.stdout, [
      "Request timed out: seq=1",
      "Request timed out: seq=2",
      "--- 127.0.0.1 ping statistics ---",
      "2 packets transmitted, 0 received, 100% packet loss",
    ]);
    const json = await run(runtime, [...args, "--json"]);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout.join("\n")), {
      host: "127.0.0.1",
      port: 9,
      count: 2,
      received: 0,
      loss: 100,
      rtt: null,
      pings: [{ seq: 1, time: null }, { seq: 2, time: null }],
    });
  });

  test(`${runtime}: --help, a command's --help, --version`, SLOW, async () => {
    const [help, short, commandHelp, version] = await Promise.all([
      run(runtime, ["--help"]),
      run(runtime, ["-h"]),
      run(runtime, ["tcp-server", "--help"]),
      run(runtime, ["--version"]),
    ]);
    assert.equal(help.code, 0, help.stderr);
    for (const command of ["tcp-server", "udp-server", "tcp-client", "udp-client", "ping"]) {
      assert.ok(help.stdout.some((line) => line.trimStart().startsWith(command + " ")), `--help lacks ${command}`);
    }
    assert.deepEqual(short, help);
    assert.equal(commandHelp.code, 0, commandHelp.stderr);
    assert.equal(commandHelp.stdout[0], "Usage: doorway tcp-server [options]");
    const text = commandHelp.stdout.join("\n");
    for (const option of ["--hostname", "--port", "--service", "--max-connections", "--max-line-bytes"]) {
      assert.ok(text.includes(option), `tcp-server --help lacks ${option}`);
    }
    for (const option of ["--idle-timeout", "--graceful-timeout"]) assert.ok(text.includes(option), option);
    assert.deepEqual(version, { code: 0, stdout: [`doorway ${VERSION}`], stderr: "" });
  });

  test(`${runtime}: bad input is one line on stderr and exit 2`, SLOW, async () => {
    const cases: Array<[string[], string]> = [
      [[], "Missing command; see doorway --help"],
      [["foo"], 'Unknown command "foo"; see doorway --help'],
      [["--bogus"], 'Unknown option "--bogus"; see doorway --help'],
      [["tcp-server", "--bogus"], 'Unknown option "--bogus"; see doorway tcp-server --help'],
      [["udp-client", "-x", "127.0.0.1", "1"], 'Unknown option "-x"; see doorway udp-client --help'],
      [["tcp-server", "--port"], 'Option "--port" needs a value; see doorway tcp-server --help'],
      [["ping", "--json=yes", "127.0.0.1", "1"], 'Option "--json" takes no value; see doorway ping --help'],
      [["tcp-server", "extra"], 'Unexpected argument "extra"; see doorway tcp-server --help'],
      [["tcp-server", "--port", "70000"], 'Invalid port "70000": must be an integer from 0 to 65535'],
      [["udp-server", "--port=-1"], 'Invalid port "-1": must be an integer from 0 to 65535'],
      [["tcp-client", "127.0.0.1", "12x"], 'Invalid port "12x": must be an integer from 1 to 65535'],
      [["udp-client", "127.0.0.1", "0"], 'Invalid port "0": must be an integer from 1 to 65535'],
      [["tcp-client"], "Missing HOST and PORT; see doorway tcp-client --help"],
      [["ping", "127.0.0.1"], "Missing PORT; see doorway ping --help"],
      [["udp-server", "--service", "shout"], 'Invalid --service "shout": must be upper or echo'],
      [["ping", "127.0.0.1", "9", "--count", "0"], 'Invalid --count "0": must be an integer from 1 to 2147483647'],
      [
        ["tcp-client", "127.0.0.1", "9", "--timeout", "1.5"],
        'Invalid --timeout "1.5": must be an integer from 1 to 2147483647',
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => run(runtime, args)));
    cases.forEach(([args, message], i) => {
      assert.deepEqual(results[i], { code: 2, stdout: [], stderr: message + "\n" }, `doorway ${args.join(" ")}`);
    });
  });

  test(`${runtime}: a network failure is one line on stderr and exit 1`, SLOW, async () => {
    const [refused, timedOut] = await Promise.all([
      run(runtime, ["tcp-client", "127.0.0.1", "9"], "anything\n"),
      run(runtime, ["udp-client", "127.0.0.1", "9", "--timeout", "200", "--retries", "1"], "anyone there?\n"),
    ]);
    assert.deepEqual(refused, { code: 1, stdout: [], stderr: "Cannot connect to 127.0.0.1:9: connection refused\n" });
    assert.deepEqual(timedOut, {
      code: 1,
      stdout: [],
      stderr: "Cannot request from 127.0.0.1:9: timed out after 2 tries of 200 ms\n",
    });
  });

  test("npm's bin/doorway.mjs runs the command under plain node", SLOW, async () => {
    const child = startChild("node", ["bin/doorway.mjs", "--version"], { cwd: ROOT });
    assert.equal(await child.nextLine(), `doorway ${VERSION}`);
    assert.equal(await child.exited, 0, child.stderr());
  });
});
