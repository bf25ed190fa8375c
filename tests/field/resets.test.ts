// Peers that reset (SO_LINGER 0) at every stage of a connection, against the uppercase server programs
// running under this runtime: before the server accepts, mid-line, with replies pending, during a large
// write, during a graceful shutdown, and hundreds in a row. After each, the server must still be running,
// answer a fresh client exactly, and be back to the descriptors it had before (nothing leaked).
import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import {
  CURRENT_RUNTIME,
  delay,
  killHard,
  PEER,
  type Proc,
  type ProgramName,
  runPeer,
  type ServerProc,
  startPeer,
  startProgram,
  steadyFdCount,
  tcpExchange,
  tcpListening,
  TEST_TIMEOUT,
  waitForFds,
  withDeadline,
} from "./_field.ts";

const SERVERS: ProgramName[] = ["examples/tcp_server.ts", "cli.ts tcp-server"];

// The mixed peers' stages come from this seed; FIELD_SEED replays another.
const SEED = Number(process.env.FIELD_SEED ?? 20261122);

/** A stack frame on stderr: something was thrown that nobody handled. */
const STACK_FRAME = /^\s+at /m;

/**
 * Starts `name` on 127.0.0.1, checks it answers, measures its idle descriptors, runs `stage`, then checks
 * that it still runs, answers a fresh client exactly, and has gone back to those descriptors.
 */
async function afterStage(
  name: ProgramName,
  stage: (server: ServerProc) => Promise<void>,
  args: string[] = [],
): Promise<void> {
  let server: ServerProc | undefined;
  try {
    server = await startProgram(name, ["--hostname", "127.0.0.1", "--port", "0", ...args]);
    const { proc, host, port } = server;
    assert.equal(await tcpExchange(host, port, "hello\n"), "HELLO\n", proc.describe());
    const baseline = await steadyFdCount(proc.pid);
    await stage(server);
    assert.equal(proc.status(), undefined, `the server exited\n${proc.describe()}`);
    assert.equal(await tcpExchange(host, port, "fresh client\n"), "FRESH CLIENT\n", proc.describe());
    await waitForFds(proc.pid, baseline, 5000, `after the stage (${proc.describe()})`);
    assert.equal(proc.status(), undefined, `the server exited\n${proc.describe()}`);
    assert.doesNotMatch(proc.stderr(), STACK_FRAME, proc.describe());
  } finally {
    await killHard(server?.proc);
  }
}

for (const name of SERVERS) {
  describe(`resets against ${name} under ${CURRENT_RUNTIME}`, () => {
    it("connections reset before the server accepts them", TEST_TIMEOUT, async () => {
      await afterStage(name, async ({ proc, host, port }) => {
        // Stopped, the server accepts nothing: the kernel completes the handshakes and queues the
        // connections, and their resets arrive before the server can take them.
        proc.kill("SIGSTOP");
        try {
          await runPeer(host, port, "connect", { count: 5 });
        } finally {
          proc.kill("SIGCONT");
        }
      });
    });

    it("a reset after half a line", TEST_TIMEOUT, async () => {
      await afterStage(name, ({ host, port }) => runPeer(host, port, "partial"));
    });

    it("a reset with 10,000 pipelined replies pending", TEST_TIMEOUT, async () => {
      await afterStage(name, ({ host, port }) => runPeer(host, port, "pipeline"));
    });

    it("a reset while the server writes the replies to 8 MiB of lines", TEST_TIMEOUT, async () => {
      await afterStage(name, ({ host, port }) => runPeer(host, port, "bulk"));
    });

    it("500 resets in a row, each at once after connecting", TEST_TIMEOUT, async () => {
      await afterStage(name, ({ host, port }) => runPeer(host, port, "connect", { count: 500 }));
    });

    it(`200 peers resetting at stages drawn from seed ${SEED}`, TEST_TIMEOUT, async () => {
      try {
        await afterStage(name, ({ host, port }) => runPeer(host, port, "mixed", { count: 200, seed: SEED }));
      } catch (err) {
        throw new Error(`seed ${SEED} (replay: FIELD_SEED=${SEED}, or python3 ${PEER} HOST PORT mixed 200 ${SEED})`, {
          cause: err,
        });
      }
    });

    it("a reset during a graceful shutdown ends it at once, with exit code 0", TEST_TIMEOUT, async () => {
      let server: ServerProc | undefined;
      let peer: Proc | undefined;
      try {
        // An hour of grace: the server may only finish early because the last connection went away.
        server = await startProgram(name, ["--hostname", "127.0.0.1", "--port", "0", "--graceful-timeout", "3600000"]);
        const { proc, host, port } = server;
        peer = startPeer(host, port, "hold");
        await peer.waitFor("stdout", /^ready$/m, 10_000);
        proc.kill("SIGTERM");
        // Shutdown has begun once the listener is closed.
        const deadline = performance.now() + 10_000;
        while (await tcpListening(host, port)) {
          assert.ok(performance.now() < deadline, `still accepting 10 s after SIGTERM\n${proc.describe()}`);
          await delay(20);
        }
        peer.endInput();
        assert.equal(await peer.waitExit(10_000), 0, peer.describe());
        assert.equal(await withDeadline(proc.exited, 10_000, () => `exit after the reset\n${proc.describe()}`), 0);
        assert.doesNotMatch(proc.stderr(), STACK_FRAME, proc.describe());
      } finally {
        await killHard(peer);
        await killHard(server?.proc);
      }
    });
  });
}
