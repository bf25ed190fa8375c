// Every server entry point on every address a user may give it: the hostname left out (the default of
// listen(), serve(), serveLines(), bind(), serveDatagrams(), the examples and the doorway command), the
// wildcards 0.0.0.0 and ::, localhost, and the loopback literals. Each is answered by the clients its address
// allows, over IPv4 (127.0.0.1) and IPv6 (::1): "::" serves both on Linux by default (bindv6only 0), 0.0.0.0
// and 127.0.0.1 IPv4 only, ::1 IPv6 only, localhost whatever it resolves to (the client connects to the
// address the server reports). Clients are node:net and node:dgram sockets, not doorway's, and the replies
// are checked byte for byte. The library runs in this process; the programs as children under this runtime.
import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { describe, it } from "node:test";
import { answerLines, bind, type Conn, listen, serve, serveDatagrams, serveLines, uppercase } from "../../mod.ts";
import {
  CURRENT_RUNTIME,
  killHard,
  type ProgramName,
  type ServerProc,
  startProgram,
  tcpExchange,
  TEST_TIMEOUT,
  udpExchange,
  withCleanup,
  withDeadline,
} from "./_field.ts";

/** An address to give a server, `undefined` for none, and the IP it must report for it (`undefined` for localhost). */
const HOSTNAMES: Array<{ label: string; hostname: string | undefined; reports: string | undefined }> = [
  { label: "no hostname", hostname: undefined, reports: "0.0.0.0" },
  { label: "0.0.0.0", hostname: "0.0.0.0", reports: "0.0.0.0" },
  { label: "::", hostname: "::", reports: "::" },
  { label: "localhost", hostname: "localhost", reports: undefined },
  { label: "127.0.0.1", hostname: "127.0.0.1", reports: "127.0.0.1" },
  { label: "::1", hostname: "::1", reports: "::1" },
];

/** The addresses clients use to reach a server that reports `reported`. */
function clientsFor(reported: string): string[] {
  switch (reported) {
    case "0.0.0.0":
      return ["127.0.0.1"];
    case "::":
      return ["127.0.0.1", "::1"];
    default:
      return [reported];
  }
}

/** Checks what a server reports for `hostname`: the literal given, 0.0.0.0 by default, localhost resolved. */
async function checkReported(reported: string, expected: string | undefined): Promise<void> {
  if (expected !== undefined) {
    assert.equal(reported, expected);
    return;
  }
  const resolved = (await lookup("localhost", { all: true })).map(({ address }) => address);
  assert.ok(resolved.includes(reported), `localhost is ${resolved.join(", ")}, the server reports ${reported}`);
}

/** Reads lines and writes them back uppercased, as a serve() handler written by hand would. */
async function upperHandler(conn: Conn): Promise<void> {
  for (let line = await conn.readLine(); line !== null; line = await conn.readLine()) {
    await conn.write(uppercase(line) + "\n");
  }
}

/** Asserts that every client a server at `addr` allows gets exactly HELLO for hello, over TCP. */
async function checkTcpClients(addr: { hostname: string; port: number }): Promise<void> {
  for (const client of clientsFor(addr.hostname)) {
    assert.equal(await tcpExchange(client, addr.port, "hello\n"), "HELLO\n", `client ${client}`);
  }
}

/** Asserts that every client a server at `addr` allows gets exactly HELLO for hello, over UDP. */
async function checkUdpClients(addr: { hostname: string; port: number }): Promise<void> {
  for (const client of clientsFor(addr.hostname)) {
    assert.equal(await udpExchange(client, addr.port, "hello"), "HELLO", `client ${client}`);
  }
}

describe(`addresses: the library's servers under ${CURRENT_RUNTIME}`, () => {
  for (const { label, hostname, reports } of HOSTNAMES) {
    it(`listen() with ${label}, accepting with answerLines()`, TEST_TIMEOUT, async () => {
      const listener = await listen(hostname === undefined ? { port: 0 } : { hostname, port: 0 });
      const running: Promise<void>[] = [];
      const loop = (async () => {
        for await (const conn of listener) {
          running.push(answerLines(conn, uppercase).catch(() => {}).finally(() => conn.close()));
        }
      })();
      await withCleanup(async () => {
        await checkReported(listener.addr.hostname, reports);
        await checkTcpClients(listener.addr);
      }, async () => {
        listener.close();
        await withDeadline(loop, 5000, "the accept loop to end");
        await withDeadline(Promise.all(running), 5000, "the handlers to end");
      });
    });

    it(`serve() with ${label}`, TEST_TIMEOUT, async () => {
      const options = hostname === undefined ? { port: 0 } : { hostname, port: 0 };
      const server = await serve(options, upperHandler);
      await withCleanup(async () => {
        await checkReported(server.addr.hostname, reports);
        await checkTcpClients(server.addr);
      }, () => withDeadline(server.close(), 5000, "serve() to close"));
    });

    it(`serveLines() with ${label}`, TEST_TIMEOUT, async () => {
      const options = hostname === undefined ? { port: 0 } : { hostname, port: 0 };
      const server = await serveLines(options, uppercase);
      await withCleanup(async () => {
        await checkReported(server.addr.hostname, reports);
        await checkTcpClients(server.addr);
      }, () => withDeadline(server.close(), 5000, "serveLines() to close"));
    });

    it(`serveDatagrams() with ${label}`, TEST_TIMEOUT, async () => {
      const options = hostname === undefined ? { port: 0 } : { hostname, port: 0 };
      const decoder = new TextDecoder();
      const server = await serveDatagrams(options, (data) => uppercase(decoder.decode(data)));
      await withCleanup(async () => {
        await checkReported(server.addr.hostname, reports);
        await checkUdpClients(server.addr);
      }, () => {
        server.close();
        return withDeadline(server.finished, 5000, "serveDatagrams() to finish");
      });
    });

    it(`bind() with ${label}, answering by hand`, TEST_TIMEOUT, async () => {
      const socket = await bind(hostname === undefined ? { port: 0 } : { hostname, port: 0 });
      const decoder = new TextDecoder();
      const answering = (async () => {
        for await (const { data, remote } of socket) {
          await socket.send(uppercase(decoder.decode(data)), remote);
        }
      })();
      await withCleanup(async () => {
        await checkReported(socket.addr.hostname, reports);
        await checkUdpClients(socket.addr);
      }, () => {
        socket.close();
        return withDeadline(answering, 5000, "the receive loop to end");
      });
    });
  }
});

const PROGRAMS: ProgramName[] = [
  "examples/tcp_server.ts",
  "cli.ts tcp-server",
  "examples/udp_server.ts",
  "cli.ts udp-server",
];

describe(`addresses: the server programs under ${CURRENT_RUNTIME}`, () => {
  for (const name of PROGRAMS) {
    for (const { label, hostname, reports } of HOSTNAMES) {
      it(
        `${name} with ${label === "no hostname" ? "no --hostname" : `--hostname ${label}`}`,
        TEST_TIMEOUT,
        async () => {
          let server: ServerProc | undefined;
          try {
            const args = hostname === undefined ? ["--port", "0"] : ["--hostname", hostname, "--port", "0"];
            server = await startProgram(name, args);
            const { proc, host, port } = server;
            await checkReported(host, reports);
            try {
              if (name.includes("tcp")) await checkTcpClients({ hostname: host, port });
              else await checkUdpClients({ hostname: host, port });
            } catch (err) {
              throw new Error(`${err instanceof Error ? err.message : err}\n${proc.describe()}`);
            }
            proc.kill("SIGTERM");
            assert.equal(await proc.waitExit(10_000), 0, proc.describe());
            assert.equal(proc.stderr(), "");
          } finally {
            await killHard(server?.proc);
          }
        },
      );
    }
  }
});
