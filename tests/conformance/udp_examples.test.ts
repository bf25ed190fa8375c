// The UDP examples across runtimes: the uppercase server under the runtime
// running this file with the client under each runtime, and the pinger,
// lossless and with seeded drops. Each runtime's run covers the pairs whose
// server it runs, so the three runs together cover all of them, and each run
// has the same tests.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkTextbookPairs,
  CURRENT_RUNTIME,
  type RuntimeId,
  RUNTIMES,
  startExampleServer,
  startUnder,
} from "../_runtimes.ts";

const SLOW = { timeout: 60_000 };

/** Runs the pinger to the end; returns its stdout lines and exit code. */
async function ping(runtime: RuntimeId, args: string[]): Promise<{ lines: string[]; code: number | string }> {
  const child = startUnder(runtime, "examples/udp_ping.ts", args);
  const lines: string[] = [];
  for (let line = await child.nextLine(); !line.startsWith("<exited"); line = await child.nextLine()) {
    lines.push(line);
  }
  const code = await child.exited;
  assert.equal(child.stderr(), "", `${runtime} pinger wrote to stderr`);
  return { lines, code };
}

const REPLY = (seq: number) => new RegExp(`^Reply from 127\\.0\\.0\\.1: seq=${seq} time=\\d+\\.\\d\\d ms$`);
const RTT = /^rtt min\/avg\/max = (\d+\.\d\d)\/(\d+\.\d\d)\/(\d+\.\d\d) ms$/;

// The pinger server runs under this runtime and its client under the next,
// so that across the three runs every runtime serves and pings.
const serverRuntime = CURRENT_RUNTIME;
const clientRuntime = RUNTIMES[(RUNTIMES.indexOf(serverRuntime) + 1) % RUNTIMES.length];

describe(`udp examples, ${serverRuntime} server, clients under each runtime`, () => {
  test(
    `${serverRuntime} udp server with deno, bun and node clients; stops on SIGTERM`,
    SLOW,
    () => checkTextbookPairs(serverRuntime, { server: "examples/udp_server.ts", client: "examples/udp_client.ts" }),
  );

  test(`the ${serverRuntime} udp client gives up after --timeout when nobody answers, and exits 1`, SLOW, async () => {
    const client = startUnder(serverRuntime, "examples/udp_client.ts", ["--port", "9", "--timeout", "300"]);
    client.write("anyone there?\n");
    client.endInput();
    assert.equal(await client.exited, 1);
    assert.equal(client.stderr(), "Cannot request from 127.0.0.1:9: timed out after 300 ms\n");
  });

  test(`pinger: ${clientRuntime} pings a lossless ${serverRuntime} server; stops on SIGINT`, SLOW, async () => {
    const { child: server, port } = await startExampleServer(serverRuntime, "examples/udp_ping_server.ts", [
      "--loss",
      "0",
    ]);
    try {
      const { lines, code } = await ping(clientRuntime, ["--port", String(port), "--count", "5"]);
      assert.equal(code, 0);
      assert.equal(lines.length, 8, lines.join("\n"));
      for (let seq = 1; seq <= 5; seq++) assert.match(lines[seq - 1], REPLY(seq));
      assert.equal(lines[5], "--- 127.0.0.1 ping statistics ---");
      assert.equal(lines[6], "5 packets transmitted, 5 received, 0% packet loss");
      const rtt = RTT.exec(lines[7]);
      assert.ok(rtt, lines[7]);
      const [min, avg, max] = rtt.slice(1).map(Number);
      assert.ok(min <= avg && avg <= max, lines[7]);
    } finally {
      server.kill("SIGINT");
    }
    assert.equal(await server.exited, 0, server.stderr());
  });

  test(`pinger: ${clientRuntime} pings a ${serverRuntime} server that drops by seed`, SLOW, async () => {
    // mulberry32 seeded with 1 draws below 0.3 on the 2nd and 6th pings.
    const { child: server, port } = await startExampleServer(serverRuntime, "examples/udp_ping_server.ts", [
      "--loss",
      "0.3",
      "--seed",
      "1",
    ]);
    try {
      const { lines, code } = await ping(clientRuntime, ["--port", String(port), "--timeout", "200"]);
      assert.equal(code, 0);
      assert.equal(lines.length, 13, lines.join("\n"));
      for (let seq = 1; seq <= 10; seq++) {
        if (seq === 2 || seq === 6) assert.equal(lines[seq - 1], `Request timed out: seq=${seq}`);
        else assert.match(lines[seq - 1], REPLY(seq));
      }
      assert.equal(lines[10], "--- 127.0.0.1 ping statistics ---");
      assert.equal(lines[11], "10 packets transmitted, 8 received, 20% packet loss");
      assert.match(lines[12], RTT);
    } finally {
      server.kill("SIGTERM");
    }
    assert.equal(await server.exited, 0, server.stderr());
  });

  test(`pinger: every ping from ${clientRuntime} to ${serverRuntime} lost is 100% loss and exit 1`, SLOW, async () => {
    const { child: server, port } = await startExampleServer(serverRuntime, "examples/udp_ping_server.ts", [
      "--loss",
      "1",
    ]);
    try {
      const { lines, code } = await ping(clientRuntime, ["--port", String(port), "--count", "2", "--timeout", "200"]);
      assert.equal(code, 1);
      assert.deepEqual(lines, [
        "Request timed out: seq=1",
        "Request timed out: seq=2",
        "--- 127.0.0.1 ping statistics ---",
        "2 packets transmitted, 0 received, 100% packet loss",
      ]);
    } finally {
      server.kill("SIGTERM");
    }
    assert.equal(await server.exited, 0, server.stderr());
  });
});
