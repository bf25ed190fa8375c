// A connection over maxConnections is turned away as soon as it is accepted. Its client must see the same thing on
// every runtime: a clean end of stream (FIN), never a reset. The client sends nothing first, since a close
// with unread bytes is a reset on every kernel. Checked against serveLines() in this process and against
// the server programs under this runtime; once the one served client leaves, a new one is served again.
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { serveLines, uppercase } from "../../mod.ts";
import {
  CURRENT_RUNTIME,
  delay,
  fdTargets,
  LOOPBACK,
  type ProgramName,
  socketCount,
  steadyFdCount,
  tcpExchange,
  TEST_TIMEOUT,
  waitForFds,
  withCleanup,
  withDeadline,
  withProgram,
} from "./_field.ts";

/**
 * How a rejected connection ends for its client: the bytes it got, and the error code if it did not end
 * cleanly. With `line`, the client sends it as soon as it is connected, as the textbook client does, and
 * calls `sent()` once the kernel has it: a server paused until then closes a connection with unread bytes.
 */
function rejectedClient(
  host: string,
  port: number,
  options: { line?: string; sent?: () => void } = {},
): Promise<{ received: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, allowHalfOpen: true });
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received, error: "still open after 5000 ms" });
    }, 5000);
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      if (options.line !== undefined) socket.write(options.line, () => options.sent?.());
    });
    socket.on("data", (text: string) => (received += text));
    socket.on("end", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received });
    });
    socket.on("error", (err: Error & { code?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, error: err.code ?? err.message });
    });
  });
}

/** A client that is served and stays: it has its reply, and its connection stays open until `close()`. */
async function servedClient(host: string, port: number): Promise<{ close(): void }> {
  const socket = net.connect({ host, port });
  socket.setEncoding("utf8");
  let received = "";
  const reply = new Promise<void>((resolve, reject) => {
    socket.on("data", (text: string) => {
      received += text;
      if (received.endsWith("\n")) resolve();
    });
    socket.on("error", reject);
    socket.on("end", () => reject(new Error(`ended after ${JSON.stringify(received)}`)));
  });
  socket.write("first\n");
  await withDeadline(reply, 5000, "the first client's reply");
  assert.equal(received, "FIRST\n");
  return { close: () => socket.destroy() };
}

/** What the test can do to the server: pause and resume it (a child process), and wait until a slot is free. */
interface Control {
  pause?: () => void;
  resume?: () => void;
  freed: () => Promise<void>;
}

/**
 * One served client holds the only slot; a client that sends nothing and one that sends a line at once must
 * each see a clean end of stream; once the first has left, a new client is served.
 */
async function checkRejection(host: string, port: number, control: Control): Promise<void> {
  const first = await servedClient(host, port);
  try {
    assert.deepEqual(await rejectedClient(host, port), { received: "" }, "a client that sends nothing");
    // Paused, the server accepts the connection only once the line is in its receive queue.
    control.pause?.();
    let eager;
    try {
      eager = rejectedClient(host, port, { line: "hello\n", sent: () => control.resume?.() });
      assert.deepEqual(await eager, { received: "" }, "a client that sends a line at once");
    } finally {
      control.resume?.();
    }
  } finally {
    first.close();
  }
  await control.freed();
  assert.equal(await tcpExchange(host, port, "fourth\n"), "FOURTH\n");
}

describe(`maxConnections under ${CURRENT_RUNTIME}`, () => {
  it("serveLines({ maxConnections: 1 }): a rejected client sees a clean end of stream", TEST_TIMEOUT, async () => {
    const server = await serveLines({ hostname: "127.0.0.1", port: 0, maxConnections: 1 }, uppercase);
    const freed = async () => {
      const deadline = performance.now() + 5000;
      while (server.stats.open > 0) {
        assert.ok(performance.now() < deadline, `still ${server.stats.open} open connection(s) after 5 s`);
        await delay(20);
      }
    };
    await withCleanup(
      () => checkRejection("127.0.0.1", server.addr.port, { freed }),
      () => withDeadline(server.close(), 5000, "serveLines() to close"),
    );
  });

  const programs: ProgramName[] = ["examples/tcp_server.ts", "cli.ts tcp-server"];
  for (const name of programs) {
    it(`${name} --max-connections 1: a rejected client sees a clean end of stream`, TEST_TIMEOUT, async () => {
      await withProgram({ name, args: [...LOOPBACK, "--max-connections", "1"] }, async ({ proc, host, port }) => {
        // The first client's slot is free once the server has closed its descriptor.
        const baseline = await steadyFdCount(proc.pid);
        try {
          await checkRejection(host, port, {
            pause: () => proc.kill("SIGSTOP"),
            resume: () => proc.kill("SIGCONT"),
            freed: () => waitForFds(proc.pid, baseline),
          });
        } catch (err) {
          throw new Error(`${err instanceof Error ? err.message : err}\n${proc.describe()}`);
        }
        assert.equal(proc.status(), undefined, proc.describe());
      });
    });
  }

  it("a flood of turned-away clients that never close costs the server few sockets", TEST_TIMEOUT, async () => {
    const name: ProgramName = "examples/tcp_server.ts";
    await withProgram({ name, args: [...LOOPBACK, "--max-connections", "1"] }, async ({ proc, host, port }) => {
      const baseline = await steadyFdCount(proc.pid);
      const sockets = socketCount(proc.pid);
      const first = await servedClient(host, port);
      const flood: net.Socket[] = [];
      try {
        // Each sees its end of stream once the server has turned it away, and then stays open.
        const ended = Array.from({ length: 300 }, () =>
          new Promise<void>((resolve) => {
            const socket = net.connect({ host, port, allowHalfOpen: true });
            flood.push(socket);
            socket.on("end", resolve);
            socket.on("error", () => resolve());
            socket.resume();
          }));
        await withDeadline(Promise.all(ended), 10_000, "every flooding client to be turned away");
        // The served client, and at most 64 turned away that linger for their
        // end of stream: exactly the bound, so sockets are counted, not the
        // cache files Deno may have open at that moment. Any other descriptor
        // left behind fails the wait for the baseline below.
        const count = socketCount(proc.pid);
        assert.ok(
          count <= sockets + 1 + 64,
          `${count} sockets open, ${sockets} before: ${fdTargets(proc.pid)}\n${proc.describe()}`,
        );
      } finally {
        for (const socket of flood) socket.destroy();
        first.close();
      }
      await waitForFds(proc.pid, baseline);
      assert.equal(await tcpExchange(host, port, "after\n"), "AFTER\n");
    });
  });
});
