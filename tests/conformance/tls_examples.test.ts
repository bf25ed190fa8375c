// The textbook pair over TLS across runtimes: examples/tls_server.ts under the runtime running this file,
// examples/tls_client.ts under each runtime against it, trusting the test CA (tests/_certs.ts) with --ca. Each
// runtime's run covers the pairs whose server it runs, so the three runs together cover all nine, with the same
// tests. Deno runs them as the examples' headers say: --allow-net --allow-read, to read the PEM files.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connect, serveLines, uppercase } from "../../mod.ts";
import { testCerts } from "../_certs.ts";
import { type Child, finish, type Finished, rejectsWithCode, startChild } from "../_helpers.ts";
import { CURRENT_RUNTIME, ROOT, type RuntimeId, RUNTIMES, startUnder } from "../_runtimes.ts";

const SLOW = { timeout: 60_000 };

/** Starts `file` under `runtime` as a user would: Deno also with --allow-read, for the certificate files. */
function start(runtime: RuntimeId, file: string, args: string[] = []): Child {
  return startUnder(runtime, file, args, ["read"]);
}

/** Runs `file` under `runtime` to its end with `input` on stdin. */
async function run(runtime: RuntimeId, file: string, args: string[], input = ""): Promise<Finished> {
  const child = start(runtime, file, args);
  child.write(input);
  child.endInput();
  return await finish(child);
}

/** Starts examples/tls_server.ts on 127.0.0.1, port 0, with the test server certificate; waits for its two lines. */
async function startTlsServer(runtime: RuntimeId, args: string[] = []): Promise<{ server: Child; port: number }> {
  const { server: pair } = testCerts();
  const server = start(runtime, "examples/tls_server.ts", [
    ...["--hostname", "127.0.0.1", "--port", "0", "--cert", pair.certPath, "--key", pair.keyPath],
    ...args,
  ]);
  const listening = await server.nextLine();
  const match = /^Listening on 127\.0\.0\.1:(\d+)$/.exec(listening);
  assert.ok(match, `${runtime} server said: ${listening} ${server.stderr()}`);
  assert.equal(await server.nextLine(), "The server is ready to receive");
  return { server, port: Number(match[1]) };
}

/** Sends SIGTERM; resolves with the server's stderr lines once it has exited with 0. */
async function stop(server: Child): Promise<string[]> {
  server.kill("SIGTERM");
  assert.equal(await server.exited, 0, server.stderr());
  return server.stderr().split("\n").filter((line) => line !== "");
}

const runtime = CURRENT_RUNTIME;
const PROMPT = "Input lowercase sentence: ";

describe(`tls examples, ${runtime} server, clients under each runtime`, () => {
  test(`${runtime} server with deno, bun and node clients trusting the CA; stops on SIGTERM`, SLOW, async () => {
    const { server, port } = await startTlsServer(runtime);
    try {
      for (const clientRuntime of RUNTIMES) {
        // The client's default --hostname, localhost: the name the certificate is for.
        const sentence = `hello over tls from ${clientRuntime} to ${runtime}, café`;
        const client = await run(
          clientRuntime,
          "examples/tls_client.ts",
          ["--port", String(port), "--ca", testCerts().ca.certPath],
          sentence + "\n",
        );
        assert.deepEqual(client, {
          code: 0,
          stdout: [PROMPT, `From Server: ${sentence.toUpperCase()}`],
          stderr: "",
        }, `${clientRuntime} client`);
      }
      assert.deepEqual(await stop(server), []);
    } finally {
      server.kill("SIGKILL");
    }
  });

  test(`${runtime} server: a client that refuses its certificate is logged, and the server goes on`, SLOW, async () => {
    const { server, port } = await startTlsServer(runtime);
    try {
      // The runtime's default CAs do not include the test CA.
      await rejectsWithCode(connect({ hostname: "localhost", port, tls: true }), "ECERTUNTRUSTED");
      await using conn = await connect({ hostname: "localhost", port, tls: { caCerts: [testCerts().ca.cert] } });
      await conn.write("still there?\n");
      assert.equal(await conn.readLine(), "STILL THERE?");
      conn.close();
      // One line for the failed handshake, naming the client; Node no longer
      // knows who it was once the client has closed (README, runtime table).
      const lines = await stop(server);
      assert.equal(lines.length, 1, lines.join("\n"));
      const client = runtime === "node" ? "a client" : "127\\.0\\.0\\.1:\\d+";
      assert.match(lines[0], new RegExp(`^Cannot complete a TLS handshake with ${client}: TLS handshake failed$`));
    } finally {
      server.kill("SIGKILL");
    }
  });

  test(`the ${runtime} client without --ca: certificate not trusted, one line, exit 1`, SLOW, async () => {
    const { server: pair } = testCerts();
    await using server = await serveLines(
      { hostname: "127.0.0.1", port: 0, tls: { cert: pair.cert, key: pair.key }, onError: () => {} },
      uppercase,
    );
    const port = server.addr.port;
    const client = await run(
      runtime,
      "examples/tls_client.ts",
      ["--hostname", "127.0.0.1", "--port", String(port)],
      "hi\n",
    );
    assert.deepEqual(client, {
      code: 1,
      stdout: [PROMPT],
      stderr: `Cannot connect to 127.0.0.1:${port}: certificate not trusted\n`,
    });
    // A CA that signed nothing of the server's is no better.
    const other = await run(
      runtime,
      "examples/tls_client.ts",
      ["--hostname", "127.0.0.1", "--port", String(port), "--ca", testCerts().otherCa.certPath],
      "hi\n",
    );
    assert.deepEqual(other, {
      code: 1,
      stdout: [PROMPT],
      stderr: `Cannot connect to 127.0.0.1:${port}: certificate not trusted\n`,
    });
  });

  test(`the ${runtime} client says why when nothing listens, and exits 1`, SLOW, async () => {
    const client = await run(runtime, "examples/tls_client.ts", ["--hostname", "127.0.0.1", "--port", "9"], "hi\n");
    assert.deepEqual(client, {
      code: 1,
      stdout: [PROMPT],
      stderr: "Cannot connect to 127.0.0.1:9: connection refused\n",
    });
  });

  test(
    `${runtime}: --help, and a mistake is one line and exit 2, a file that cannot be read exit 1`,
    SLOW,
    async () => {
      const { dir, ca, server: pair } = testCerts();
      const [serverHelp, clientHelp] = await Promise.all([
        run(runtime, "examples/tls_server.ts", ["--help"]),
        run(runtime, "examples/tls_client.ts", ["-h"]),
      ]);
      assert.equal(serverHelp.code, 0, serverHelp.stderr);
      assert.equal(serverHelp.stdout[0], "Usage: examples/tls_server.ts [options]");
      for (const flag of ["--cert", "--key", "--hostname", "--port", "--max-connections", "--graceful-timeout"]) {
        assert.ok(serverHelp.stdout.some((line) => line.trimStart().startsWith(flag + " ")), flag);
      }
      assert.equal(clientHelp.code, 0, clientHelp.stderr);
      assert.equal(clientHelp.stdout[0], "Usage: examples/tls_client.ts [options]");
      for (const flag of ["--hostname", "--port", "--ca", "--timeout"]) {
        assert.ok(clientHelp.stdout.some((line) => line.trimStart().startsWith(flag + " ")), flag);
      }

      const LOOPBACK = ["--hostname", "127.0.0.1", "--port", "0"];
      const cases: Array<[string, string[], number, string]> = [
        ["examples/tls_server.ts", LOOPBACK, 2, "Missing --cert FILE and --key FILE; see --help"],
        ["examples/tls_server.ts", [...LOOPBACK, "--cert", pair.certPath], 2, "Missing --key FILE; see --help"],
        ["examples/tls_server.ts", [...LOOPBACK, "--cert"], 2, 'Option "--cert" needs a value; see --help'],
        [
          "examples/tls_server.ts",
          [...LOOPBACK, "--cert", `${dir}/missing.pem`, "--key", pair.keyPath],
          1,
          `Cannot read --cert ${dir}/missing.pem: no such file or directory`,
        ],
        [
          "examples/tls_server.ts",
          [...LOOPBACK, "--cert", pair.certPath, "--key", dir],
          1,
          `Cannot read --key ${dir}: is a directory`,
        ],
        [
          "examples/tls_server.ts",
          [...LOOPBACK, "--cert", `${dir}/serial`, "--key", pair.keyPath],
          1,
          `Cannot read --cert ${dir}/serial: not PEM text`,
        ],
        ["examples/tls_client.ts", ["--port", "0"], 2, 'Invalid --port "0": must be an integer from 1 to 65535'],
        ["examples/tls_client.ts", ["--insecure"], 2, 'Unknown option "--insecure"; see --help'],
        [
          "examples/tls_client.ts",
          ["--ca", `${ca.certPath}.missing`],
          1,
          `Cannot read --ca ${ca.certPath}.missing: no such file or directory`,
        ],
      ];
      const results = await Promise.all(cases.map(([file, args]) => run(runtime, file, args, "hello\n")));
      cases.forEach(([file, args, code, message], i) => {
        // Nothing on stdout: no prompt, no listening line.
        assert.deepEqual(results[i], { code, stdout: [], stderr: message + "\n" }, `${file} ${args.join(" ")}`);
      });
    },
  );
});

// Deno's, whichever runtime runs this file: the message must say how to grant the permission.
test(
  "examples/tls_*.ts under Deno without --allow-read: one line that says how to grant it, exit 1",
  SLOW,
  async () => {
    const { ca, server: pair } = testCerts();
    const deno = `${ROOT}node_modules/.bin/deno`;
    const hint = "permission denied (run Deno with --allow-read)";
    const cases: Array<[string[], string]> = [
      [
        ["examples/tls_server.ts", "--port", "0", "--cert", pair.certPath, "--key", pair.keyPath],
        `Cannot read --cert ${pair.certPath}: ${hint}`,
      ],
      [["examples/tls_client.ts", "--port", "9", "--ca", ca.certPath], `Cannot read --ca ${ca.certPath}: ${hint}`],
    ];
    for (const [args, message] of cases) {
      const child = startChild(deno, ["run", "--allow-net", ...args], { cwd: ROOT });
      child.endInput();
      assert.equal(await child.nextLine(), `<exited: ${message}>`);
      assert.equal(await child.exited, 1);
      assert.equal(child.stderr(), message + "\n");
    }
  },
);
