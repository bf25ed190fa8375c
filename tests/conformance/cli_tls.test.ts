// The `doorway` command's TLS and Unix socket options (cli.ts) under Deno, Bun and Node, as a user runs them:
// tcp-server --tls answered by tcp-client --tls under each runtime and by openssl s_client; --unix servers and
// clients; TLS over a Unix socket against Python's ssl module; certificates that fail; the exact one-line messages
// and exit codes for mistakes and unreadable files. Each runtime's run starts the command under that runtime (and
// its clients under each), with the same tests; where a runtime cannot (Deno: --insecure, TLS over a Unix socket)
// the test asserts its EUNSUPPORTED message and exit 1. Deno runs with --allow-read to read certificate files, and
// --allow-read --allow-write for Unix sockets, as cli.ts's --help says.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { testCerts } from "../_certs.ts";
import { type Child, finish, type Finished, startChild } from "../_helpers.ts";
import { CURRENT_RUNTIME, ROOT, type RuntimeId, RUNTIMES, startUnder } from "../_runtimes.ts";
import { runPythonClient, startOpensslClient, startPythonServer } from "../_tls_peers.ts";

const SLOW = { timeout: 60_000 };

// Unix socket paths live here, short enough for sun_path's 108 bytes.
const DIR = mkdtempSync(join(tmpdir(), "doorway-cli-"));
after(() => rmSync(DIR, { recursive: true, force: true }));
let paths = 0;
const socketPath = () => join(DIR, `s${++paths}.sock`);

/** Deno's permissions besides --allow-net: `read` for certificate files, `unix` for Unix sockets. */
type Needs = "read" | "unix";

/** Starts the command under `runtime` as a user would; Deno gets the permissions `needs` asks for. */
function doorway(runtime: RuntimeId, args: string[], needs: Needs = "read"): Child {
  return startUnder(runtime, "cli.ts", args, needs === "unix" ? ["read", "write"] : ["read"]);
}

/** Runs the command to its end, with `input` on stdin. */
function run(runtime: RuntimeId, args: string[], input = "", needs: Needs = "read"): Promise<Finished> {
  const child = doorway(runtime, args, needs);
  child.write(input);
  child.endInput();
  return finish(child);
}

/** The tcp-server arguments that serve TLS with the test server certificate (or `pair`). */
function tlsArgs(pair = testCerts().server): string[] {
  return ["--tls", "--cert", pair.certPath, "--key", pair.keyPath];
}

/** Starts tcp-server --tls on a free port of 127.0.0.1; returns it with the port it printed. */
async function startTlsServer(runtime: RuntimeId, pair = testCerts().server): Promise<{ server: Child; port: number }> {
  const server = doorway(runtime, ["tcp-server", "--hostname", "127.0.0.1", "--port", "0", ...tlsArgs(pair)]);
  const listening = await server.nextLine();
  const match = /^Listening on tls 127\.0\.0\.1:(\d+) \(service: upper\)$/.exec(listening);
  assert.ok(match, `${runtime} tcp-server said: ${listening} ${server.stderr()}`);
  return { server, port: Number(match[1]) };
}

/** Stops a server with SIGTERM; resolves with its stderr once it has exited with 0. */
async function stop(server: Child): Promise<string> {
  server.kill("SIGTERM");
  assert.equal(await server.exited, 0, server.stderr());
  return server.stderr();
}

/**
 * How many failures a server's stderr reports: each line that names a peer on 127.0.0.1 is one, each "N more
 * errors in that second" (the log shows at most one a second) is N. Any other line fails the assertion.
 */
function failuresLogged(stderr: string): number {
  let count = 0;
  for (const line of stderr.split("\n").filter((line) => line !== "")) {
    const more = /^(\d+) more errors? in that second$/.exec(line);
    if (more) count += Number(more[1]);
    // Node cannot name a client that closed before it read its address.
    else if (/^Cannot complete a TLS handshake with (127\.0\.0\.1:\d+|a client): /.test(line)) count++;
    else assert.fail(`unexpected line on stderr: ${line}`);
  }
  return count;
}

// What a runtime that cannot do something says: the SocketError's message, one line.
const unsupported = (action: string, address: string) =>
  new RegExp(`^Cannot ${action} ${address.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not supported on this runtime.*\n$`);

const LINES = ["hello", "café au lait", "", "x".repeat(2000)];
const UPPER = LINES.map((line) => line.toUpperCase());

const runtime = CURRENT_RUNTIME;

describe(`the doorway command's TLS and Unix sockets under ${runtime}`, () => {
  test(
    `${runtime}: tcp-server --tls answers tcp-client --tls under deno, bun and node, and openssl`,
    SLOW,
    async () => {
      const { ca } = testCerts();
      const { server, port } = await startTlsServer(runtime);
      try {
        for (const clientRuntime of RUNTIMES) {
          const client = await run(
            clientRuntime,
            ["tcp-client", "localhost", String(port), "--tls", "--ca", ca.certPath],
            LINES.join("\n") + "\n",
          );
          assert.deepEqual(client, { code: 0, stdout: UPPER, stderr: "" }, `${clientRuntime} client`);
        }
        // By address: the certificate names 127.0.0.1 too.
        const byAddress = await run(
          runtime,
          ["tcp-client", "127.0.0.1", String(port), "--tls", "--ca", ca.certPath],
          "by address\n",
        );
        assert.deepEqual(byAddress, { code: 0, stdout: ["BY ADDRESS"], stderr: "" });
        const openssl = startOpensslClient({ port, ca });
        openssl.write("hello from openssl\n");
        assert.equal(await openssl.nextLine(), "HELLO FROM OPENSSL");
        openssl.endInput();
        assert.equal(await openssl.exited, 0, openssl.stderr());
        assert.equal(await stop(server), "");
      } finally {
        server.kill("SIGKILL");
      }
    },
  );

  test(`${runtime}: a certificate that fails is one line and exit 1; tcp-server logs it, goes on`, SLOW, async () => {
    const { ca, otherCa } = testCerts();
    const { server, port } = await startTlsServer(runtime);
    try {
      const cases: Array<[string[], string]> = [
        // The runtime's default CAs do not include the test CA.
        [["localhost", String(port), "--tls"], `Cannot connect to localhost:${port}: certificate not trusted`],
        [
          ["localhost", String(port), "--tls", "--ca", otherCa.certPath],
          `Cannot connect to localhost:${port}: certificate not trusted`,
        ],
        [
          ["localhost", String(port), "--tls", "--ca", ca.certPath, "--servername", "other.example"],
          `Cannot connect to localhost:${port}: certificate not valid for this name`,
        ],
      ];
      for (const [args, message] of cases) {
        const client = await run(runtime, ["tcp-client", ...args], "hello\n");
        assert.deepEqual(client, { code: 1, stdout: [], stderr: message + "\n" }, args.join(" "));
      }
      const good = await run(runtime, ["tcp-client", "localhost", String(port), "--tls", "--ca", ca.certPath], "ok\n");
      assert.deepEqual(good, { code: 0, stdout: ["OK"], stderr: "" });
      // Each failed handshake reported once, naming the client, or counted.
      assert.equal(failuresLogged(await stop(server)), cases.length, server.stderr());
    } finally {
      server.kill("SIGKILL");
    }
  });

  test(`${runtime}: tcp-client --tls --insecure takes any certificate; Deno cannot`, SLOW, async () => {
    const { server, port } = await startTlsServer(runtime, testCerts().selfSigned);
    try {
      const args = ["tcp-client", "localhost", String(port), "--tls", "--insecure", "--servername", "other.example"];
      const client = await run(runtime, args, "anything goes\n");
      if (runtime === "deno") {
        assert.equal(client.code, 1, client.stderr);
        assert.deepEqual(client.stdout, []);
        assert.match(client.stderr, unsupported("connect to", `localhost:${port}`));
      } else {
        assert.deepEqual(client, { code: 0, stdout: ["ANYTHING GOES"], stderr: "" });
      }
      assert.equal(await stop(server), "");
    } finally {
      server.kill("SIGKILL");
    }
  });

  test(`${runtime}: tcp-server --unix answers tcp-client --unix under deno, bun and node`, SLOW, async () => {
    const path = socketPath();
    const server = doorway(runtime, ["tcp-server", "--unix", path, "--service", "echo"], "unix");
    try {
      assert.equal(await server.nextLine(), `Listening on unix ${path} (service: echo)`, server.stderr());
      for (const clientRuntime of RUNTIMES) {
        const client = await run(clientRuntime, ["tcp-client", "--unix", path], LINES.join("\n") + "\n", "unix");
        assert.deepEqual(client, { code: 0, stdout: LINES, stderr: "" }, `${clientRuntime} client`);
      }
      assert.equal(await stop(server), "");
      // Removed on the way out.
      assert.equal(existsSync(path), false);
      const missing = await run(runtime, ["tcp-client", "--unix", path], "anyone?\n", "unix");
      assert.deepEqual(missing, { code: 1, stdout: [], stderr: `Cannot connect to ${path}: no such socket file\n` });
    } finally {
      server.kill("SIGKILL");
    }
  });

  test(`${runtime}: TLS over --unix, server and client, with Python's ssl; Deno cannot`, SLOW, async () => {
    const { ca, server: pair } = testCerts();
    // doorway's server, Python's client.
    const path = socketPath();
    const server = doorway(runtime, ["tcp-server", "--unix", path, ...tlsArgs()], "unix");
    try {
      if (runtime === "deno") {
        const done = await finish(server);
        assert.equal(done.code, 1, done.stderr);
        assert.deepEqual(done.stdout, []);
        assert.match(done.stderr, unsupported("listen on", path));
      } else {
        assert.equal(await server.nextLine(), `Listening on tls+unix ${path} (service: upper)`, server.stderr());
        const python = await runPythonClient({ unix: path, tls: true, ca, serverName: "localhost", send: ["hello"] });
        assert.equal(python.code, 0, python.stderr + python.lines.join("\n"));
        assert.match(python.lines[0], /^tls TLSv1\.[23] /);
        assert.deepEqual(python.lines.slice(1), ["reply HELLO"]);
        assert.equal(await stop(server), "");
      }
    } finally {
      server.kill("SIGKILL");
    }
    // Python's server, doorway's client.
    const peerPath = socketPath();
    const peer = await startPythonServer({ tls: true, cert: pair, unix: peerPath });
    try {
      const args = ["tcp-client", "--unix", peerPath, "--tls", "--ca", ca.certPath, "--servername", "localhost"];
      const client = await run(runtime, args, "hello\nworld\n", "unix");
      if (runtime === "deno") {
        assert.equal(client.code, 1, client.stderr);
        assert.deepEqual(client.stdout, []);
        assert.match(client.stderr, unsupported("connect to", peerPath));
      } else {
        assert.deepEqual(client, { code: 0, stdout: ["HELLO", "WORLD"], stderr: "" });
        assert.match(await peer.nextLine(), /^tls TLSv1\.[23] /);
      }
    } finally {
      assert.equal(await peer.stop(), 0, peer.stderr());
    }
  });

  test(`${runtime}: a mistake in the TLS and Unix options is one line and exit 2`, SLOW, async () => {
    const { ca, server: pair } = testCerts();
    const path = join(DIR, "never.sock");
    const server = (message: string) => `${message}; see doorway tcp-server --help`;
    const client = (message: string) => `${message}; see doorway tcp-client --help`;
    const cases: Array<[string[], string]> = [
      [["tcp-server", "--tls"], server('Option "--tls" needs --cert FILE and --key FILE')],
      [["tcp-server", "--tls", "--key", pair.keyPath], server('Option "--tls" needs --cert FILE')],
      [["tcp-server", "--tls", "--cert", pair.certPath], server('Option "--tls" needs --key FILE')],
      [["tcp-server", "--cert", pair.certPath, "--key", pair.keyPath], server('Option "--cert" needs --tls')],
      [["tcp-server", "--key", pair.keyPath], server('Option "--key" needs --tls')],
      [["tcp-server", "--tls=yes"], server('Option "--tls" takes no value')],
      [["tcp-server", "--unix"], server('Option "--unix" needs a value')],
      [["tcp-server", "--unix", path, "--port", "0"], server('Options "--unix" and "--port" exclude each other')],
      [
        ["tcp-server", "--unix", path, "--hostname", "127.0.0.1"],
        server('Options "--unix" and "--hostname" exclude each other'),
      ],
      [["tcp-client", "--unix", path, "127.0.0.1", "1"], client('Unexpected argument "127.0.0.1"')],
      [["tcp-client", "127.0.0.1", "1", "--ca", ca.certPath], client('Option "--ca" needs --tls')],
      [["tcp-client", "127.0.0.1", "1", "--servername", "localhost"], client('Option "--servername" needs --tls')],
      [["tcp-client", "127.0.0.1", "1", "--insecure"], client('Option "--insecure" needs --tls')],
      [
        ["tcp-client", "127.0.0.1", "1", "--tls", "--ca", ca.certPath, "--insecure"],
        client('Options "--ca" and "--insecure" exclude each other'),
      ],
      [["tcp-client", "--unix", path, "--tls"], client('Option "--tls" with --unix needs --servername NAME')],
      [["tcp-client", "127.0.0.1", "1", "--tls", "--servername", ""], 'Invalid --servername "": must not be empty'],
    ];
    const results = await Promise.all(cases.map(([args]) => run(runtime, args, "hello\n", "unix")));
    cases.forEach(([args, message], i) => {
      assert.deepEqual(results[i], { code: 2, stdout: [], stderr: message + "\n" }, `doorway ${args.join(" ")}`);
    });
    // Nothing was listened on.
    assert.equal(existsSync(path), false);
  });

  test(`${runtime}: a file that cannot be read is one line naming it, exit 1`, SLOW, async () => {
    const { ca, dir, server: pair } = testCerts();
    const loopback = ["tcp-server", "--hostname", "127.0.0.1", "--port", "0"];
    const cases: Array<[string[], string]> = [
      [
        [...loopback, "--tls", "--cert", `${dir}/missing.pem`, "--key", pair.keyPath],
        `Cannot read --cert ${dir}/missing.pem: no such file or directory`,
      ],
      [[...loopback, "--tls", "--cert", pair.certPath, "--key", dir], `Cannot read --key ${dir}: is a directory`],
      [
        [...loopback, "--tls", "--cert", `${dir}/serial`, "--key", pair.keyPath],
        `Cannot read --cert ${dir}/serial: not PEM text`,
      ],
      [
        ["tcp-client", "127.0.0.1", "9", "--tls", "--ca", `${ca.certPath}.missing`],
        `Cannot read --ca ${ca.certPath}.missing: no such file or directory`,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => run(runtime, args, "hello\n")));
    cases.forEach(([args, message], i) => {
      assert.deepEqual(results[i], { code: 1, stdout: [], stderr: message + "\n" }, `doorway ${args.join(" ")}`);
    });
  });

  test(`${runtime}: --help tells of the TLS and Unix options`, SLOW, async () => {
    const [help, serverHelp, clientHelp] = await Promise.all([
      run(runtime, ["--help"]),
      run(runtime, ["tcp-server", "--help"]),
      run(runtime, ["tcp-client", "--help"]),
    ]);
    for (const result of [help, serverHelp, clientHelp]) assert.equal(result.code, 0, result.stderr);
    assert.ok(help.stdout.some((line) => line.trimStart().startsWith("tcp-client --unix PATH ")), "--help: --unix");
    const options = (lines: string[]) => lines.map((line) => /^ {2}(--[a-z-]+)/.exec(line)?.[1]).filter(Boolean);
    for (const option of ["--unix", "--tls", "--cert", "--key"]) {
      assert.ok(options(serverHelp.stdout).includes(option), `tcp-server --help lacks ${option}`);
    }
    for (const listening of ["tcp ADDR:PORT", "tls ADDR:PORT", "unix PATH", "tls+unix PATH"]) {
      assert.ok(serverHelp.stdout.join("\n").includes(`Listening on ${listening} (`), listening);
    }
    assert.equal(clientHelp.stdout[1], "       doorway tcp-client --unix PATH [options]");
    for (const option of ["--unix", "--tls", "--ca", "--servername", "--insecure", "--timeout"]) {
      assert.ok(options(clientHelp.stdout).includes(option), `tcp-client --help lacks ${option}`);
    }
  });
});

// Deno's, whichever runtime runs this file: the message must say which permission is missing.
test(
  "doorway under Deno without --allow-read or --allow-write: one line naming the permission, exit 1",
  SLOW,
  async () => {
    const { ca, server: pair } = testCerts();
    const deno = `${ROOT}node_modules/.bin/deno`;
    const read = "permission denied (run Deno with --allow-read)";
    const path = socketPath();
    const cases: Array<[string[], RegExp]> = [
      [
        ["tcp-server", "--port", "0", "--tls", "--cert", pair.certPath, "--key", pair.keyPath],
        new RegExp(`^Cannot read --cert ${pair.certPath}: ${read.replace(/[()]/g, "\\$&")}\n$`),
      ],
      [
        ["tcp-client", "127.0.0.1", "9", "--tls", "--ca", ca.certPath],
        new RegExp(`^Cannot read --ca ${ca.certPath}: ${read.replace(/[()]/g, "\\$&")}\n$`),
      ],
      // Unix sockets need --allow-read and --allow-write besides --allow-net.
      [
        ["tcp-server", "--unix", path],
        new RegExp(`^Cannot listen on ${path}: permission denied \\(run Deno with .*\\)\n$`),
      ],
      [
        ["tcp-client", "--unix", path],
        new RegExp(`^Cannot connect to ${path}: permission denied \\(run Deno with .*\\)\n$`),
      ],
    ];
    for (const [args, message] of cases) {
      const child = startChild(deno, ["run", "--allow-net", "cli.ts", ...args], { cwd: ROOT });
      child.endInput();
      const done = await finish(child);
      assert.equal(done.code, 1, done.stderr);
      assert.deepEqual(done.stdout, []);
      assert.match(done.stderr, message);
    }
    assert.equal(existsSync(path), false);
  },
);
