// doorway's UDP on every address a user may give it, and host names wherever an address goes: serveDatagrams()
// and bind() with the hostname left out, 0.0.0.0, ::, localhost, 127.0.0.1 and ::1, answered by doorway clients
// of each family the address allows (:: serves IPv4 too on Linux, where bindv6only is 0 by default); send() and
// request() to `localhost`; names that do not resolve; and the doorway command given `localhost` for the
// server's --hostname, the client's HOST and ping's HOST, as a child under the runtime running this suite (with
// --unstable-net under a Deno that has it). What `localhost` stands for is what this machine's resolver says
// first, looked up here through node:dns.
import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { describe, test } from "node:test";
import { bind, type DatagramServer, request, serveDatagrams } from "../../mod.ts";
import { runtimeName } from "../../runtime/select.ts";
import type { NetAddr } from "../../runtime/contract.ts";
import { type Child, rejectsWithCode, startChild } from "../_helpers.ts";
import { ROOT, runtimeCommand } from "../_runtimes.ts";

const SLOW = { timeout: 60_000 };
const text = new TextDecoder();

const LOCALHOST = (await lookup("localhost")).address;

/** A server's bind address, and the address it must report for it. */
const SERVERS: Array<{ hostname: string | undefined; reports: string }> = [
  { hostname: undefined, reports: "0.0.0.0" },
  { hostname: "0.0.0.0", reports: "0.0.0.0" },
  { hostname: "::", reports: "::" },
  { hostname: "localhost", reports: LOCALHOST },
  { hostname: "127.0.0.1", reports: "127.0.0.1" },
  { hostname: "::1", reports: "::1" },
];

/** The bind addresses of client sockets of a family: the hostname left out, the wildcard, loopback, localhost. */
function clientHosts(ipv6: boolean): Array<string | undefined> {
  const hosts = ipv6 ? ["::", "::1"] : [undefined, "0.0.0.0", "127.0.0.1"];
  return LOCALHOST.includes(":") === ipv6 ? [...hosts, "localhost"] : hosts;
}

/** The loopback addresses a server bound to `reported` answers on. */
function reachableAt(reported: string): string[] {
  switch (reported) {
    case "0.0.0.0":
    case "127.0.0.1":
      return ["127.0.0.1"];
    case "::":
      return ["127.0.0.1", "::1"];
    case "::1":
      return ["::1"];
  }
  // Never reached on Linux: localhost is one of the loopbacks.
  throw new Error(`no case for ${reported}`);
}

/** An echo server made with bind(): what `serveDatagrams()` does, through the public socket. */
async function bindEcho(hostname: string | undefined): Promise<DatagramServer> {
  const socket = await bind({ hostname });
  const finished = (async () => {
    for await (const { data, remote } of socket) await socket.send(`${text.decode(data)} via bind`, remote);
  })();
  return {
    addr: socket.addr,
    dropped: 0,
    finished,
    close: () => socket.close(),
    async [Symbol.asyncDispose]() {
      socket.close();
      await finished;
    },
  };
}

function serveEcho(hostname: string | undefined): Promise<DatagramServer> {
  return serveDatagrams({ hostname, port: 0 }, (data) => `${text.decode(data)} via serveDatagrams`);
}

/** Asks `server` (reachable at `ip`) from every client socket of `ip`'s family, by address and by name. */
async function checkClients(server: DatagramServer, ip: string, via: string): Promise<void> {
  const port = server.addr.port;
  const ipv6 = ip.includes(":");
  const expected: NetAddr = { transport: "udp", hostname: ip, port };
  for (const clientHost of clientHosts(ipv6)) {
    await using socket = await bind({ hostname: clientHost });
    const targets = [ip];
    // localhost stands for this server only when it resolves to this family's loopback.
    if (LOCALHOST === ip) targets.push("localhost");
    for (const target of targets) {
      const question = `from ${clientHost ?? "no hostname"} to ${target}`;
      const reply = await request(question, { socket, to: { hostname: target, port }, timeout: 2000, retries: 2 });
      assert.equal(text.decode(reply.data), `${question} via ${via}`);
      assert.deepEqual(reply.remote, expected, question);
    }
  }
  // And from a socket request() binds itself.
  const reply = await request("own socket", { to: { hostname: ip, port }, timeout: 2000, retries: 2 });
  assert.equal(text.decode(reply.data), `own socket via ${via}`);
  assert.deepEqual(reply.remote, expected);
}

/** Runs `doorway ARGS` under the runtime running this suite. */
function doorway(args: string[]): Child {
  let [command, commandArgs] = runtimeCommand(runtimeName(), "cli.ts", args);
  const listenDatagram = (globalThis as { Deno?: { listenDatagram?: unknown } }).Deno?.listenDatagram;
  if (typeof listenDatagram === "function") commandArgs = ["run", "--allow-net", "--unstable-net", "cli.ts", ...args];
  return startChild(command, commandArgs, { cwd: ROOT });
}

async function linesToEnd(child: Child): Promise<string[]> {
  const lines: string[] = [];
  for (let line = await child.nextLine(); !line.startsWith("<exited"); line = await child.nextLine()) lines.push(line);
  return lines;
}

describe(`udp addresses on ${runtimeName()}: wildcards, loopbacks and names`, () => {
  for (const { hostname, reports } of SERVERS) {
    for (const [via, start] of [["serveDatagrams", serveEcho], ["bind", bindEcho]] as const) {
      test(`${via} on ${hostname ?? "no hostname"} reports ${reports} and answers its clients`, async () => {
        const server = await start(hostname);
        try {
          assert.equal(server.addr.hostname, reports);
          assert.equal(server.addr.transport, "udp");
          assert.ok(server.addr.port > 0);
          for (const ip of reachableAt(reports)) await checkClients(server, ip, via);
        } finally {
          await server[Symbol.asyncDispose]();
        }
      });
    }
  }

  test("send() to localhost reaches what localhost resolves to first, in the socket's family", async () => {
    const family = LOCALHOST.includes(":") ? "::1" : "127.0.0.1";
    await using receiver = await bind({ hostname: family });
    await using sender = await bind({ hostname: family.includes(":") ? "::" : "0.0.0.0" });
    assert.equal(await sender.send("by name", { hostname: "localhost", port: receiver.addr.port }), 7);
    const { data, remote } = await receiver.receive({ timeout: 10_000 });
    assert.equal(text.decode(data), "by name");
    assert.deepEqual(remote, { transport: "udp", hostname: LOCALHOST, port: sender.addr.port });
  });

  test("a name that does not resolve is ENOTFOUND, naming the action and the name", async () => {
    await rejectsWithCode(
      bind({ hostname: "nosuch.invalid", port: 4000 }),
      "ENOTFOUND",
      /^Cannot bind nosuch\.invalid:4000: host not found$/,
    );
    await rejectsWithCode(
      serveDatagrams({ hostname: "nosuch.invalid", port: 0 }, () => "x"),
      "ENOTFOUND",
      /^Cannot bind nosuch\.invalid:0: host not found$/,
    );
    await using socket = await bind({ hostname: "127.0.0.1" });
    await rejectsWithCode(
      socket.send("x", { hostname: "nosuch.invalid", port: 9 }),
      "ENOTFOUND",
      /^Cannot send to nosuch\.invalid:9: host not found$/,
    );
    await rejectsWithCode(
      request("x", { socket, to: { hostname: "nosuch.invalid", port: 9 } }),
      "ENOTFOUND",
      /^Cannot request from nosuch\.invalid:9: host not found$/,
    );
    await rejectsWithCode(
      request("x", { to: { hostname: "nosuch.invalid", port: 9 } }),
      "ENOTFOUND",
      /^Cannot request from nosuch\.invalid:9: host not found$/,
    );
  });

  test("a socket on ::1 does not send to an IPv4 address; one on :: does, and hears IPv4 as IPv4", async () => {
    await using loopback6 = await bind({ hostname: "::1" });
    await rejectsWithCode(
      loopback6.send("x", { hostname: "127.0.0.1", port: 9 }),
      "EINVAL",
      /^Cannot send to 127\.0\.0\.1:9: an IPv6 socket cannot send to an IPv4 address$/,
    );
    await using server = await serveDatagrams({ hostname: "127.0.0.1", port: 0 }, (data) => data);
    await using wildcard = await bind({ hostname: "::" });
    assert.equal(await wildcard.send("over v4", { hostname: "127.0.0.1", port: server.addr.port }), 7);
    const reply = await wildcard.receive({ timeout: 5000 });
    assert.equal(new TextDecoder().decode(reply.data), "over v4");
    assert.deepEqual(reply.remote, { transport: "udp", hostname: "127.0.0.1", port: server.addr.port });
  });

  test("doorway udp-server --hostname localhost, udp-client localhost and ping localhost", SLOW, async () => {
    const server = doorway(["udp-server", "--hostname", "localhost", "--port", "0"]);
    try {
      const listening = await server.nextLine();
      const where = LOCALHOST.includes(":") ? `\\[${LOCALHOST}\\]` : LOCALHOST.replaceAll(".", "\\.");
      const match = new RegExp(`^Listening on udp ${where}:(\\d+) \\(service: upper\\)$`).exec(listening);
      assert.ok(match, `${listening} ${server.stderr()}`);
      const port = match[1];

      const client = doorway(["udp-client", "localhost", port, "--timeout", "5000", "--retries", "0"]);
      client.write("hello\nby name\n");
      client.endInput();
      assert.deepEqual(await linesToEnd(client), ["HELLO", "BY NAME"]);
      assert.equal(await client.exited, 0, client.stderr());
      assert.equal(client.stderr(), "");

      const ping = doorway(["ping", "localhost", port, "--count", "2", "--interval", "0", "--timeout", "5000"]);
      const lines = await linesToEnd(ping);
      assert.equal(await ping.exited, 0, ping.stderr());
      assert.equal(ping.stderr(), "");
      assert.equal(lines.length, 5, lines.join("\n"));
      for (const seq of [1, 2]) {
        assert.match(lines[seq - 1], new RegExp(`^Reply from ${where}: seq=${seq} time=\\d+\\.\\d\\d ms$`));
      }
      assert.equal(lines[2], "--- localhost ping statistics ---");
      assert.equal(lines[3], "2 packets transmitted, 2 received, 0% packet loss");
    } finally {
      server.kill("SIGTERM");
    }
    const code = await server.exited;
    // Deno's node:child_process reports the signal kill() sent even when the child handled it and exited 0.
    if (runtimeName() !== "deno") assert.equal(code, 0, server.stderr());
    assert.equal(server.stderr(), "");
  });

  test("doorway udp-client and ping with a HOST that does not resolve: one line on stderr, exit 1", SLOW, async () => {
    for (const args of [["udp-client", "nosuch.invalid", "9"], ["ping", "nosuch.invalid", "9", "--count", "1"]]) {
      const child = doorway(args);
      child.write("hello\n");
      child.endInput();
      assert.deepEqual(await linesToEnd(child), []);
      assert.equal(await child.exited, 1);
      assert.equal(child.stderr(), "Cannot request from nosuch.invalid:9: host not found\n");
    }
  });
});
