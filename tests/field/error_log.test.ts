// A peer that makes every datagram fail must not flood the server's log: the UDP servers write at most one error a
// second and count the rest (`_error_log.ts`). The hostile datagram here is 60,000 bytes of "ŉ", whose uppercase
// ("ʼN") takes 90,000: too large for any reply. After each, a polite ping must still be answered, so the server has
// handled the hostile one before the next is sent, and the count it writes is exact.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { describe, it } from "node:test";
import { CURRENT_RUNTIME, LOOPBACK, type ProgramName, TEST_TIMEOUT, withDeadline, withProgram } from "./_field.ts";

const ROUNDS = 200;
const HOSTILE = new TextEncoder().encode("ŉ".repeat(30_000));

/** Sends `ROUNDS` hostile datagrams to `host:port`, each followed by a ping that must come back as PING. */
async function hostileRounds(host: string, port: number): Promise<void> {
  const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((resolve) => socket.bind(0, host.includes(":") ? "::1" : "127.0.0.1", resolve));
  try {
    let replied: (reply: string) => void = () => {};
    socket.on("message", (msg: Uint8Array) => replied(new TextDecoder().decode(msg)));
    for (let round = 0; round < ROUNDS; round++) {
      const reply = new Promise<string>((resolve) => (replied = resolve));
      socket.send(HOSTILE, port, host);
      socket.send("ping", port, host);
      assert.equal(await withDeadline(reply, 5000, `the ping after hostile datagram ${round + 1}`), "PING");
    }
  } finally {
    socket.close();
  }
}

describe(`the UDP servers' error log under ${CURRENT_RUNTIME}`, () => {
  const programs: ProgramName[] = ["examples/udp_server.ts", "cli.ts udp-server"];
  for (const name of programs) {
    it(`${name}: ${ROUNDS} failing datagrams, at most a line a second, every one counted`, TEST_TIMEOUT, async () => {
      const started = performance.now();
      await withProgram({ name, args: [...LOOPBACK] }, async ({ proc, host, port }) => {
        await hostileRounds(host, port);
        proc.kill("SIGTERM");
        await withDeadline(proc.exited, 10_000, () => `exit after SIGTERM\n${proc.describe()}`);
        const lines = proc.stderr().split("\n").filter((line) => line !== "");
        let shown = 0;
        let held = 0;
        for (const line of lines) {
          const more = /^(\d+) more errors? in that second$/.exec(line);
          if (more) held += Number(more[1]);
          else if (
            /^Cannot send to \S+: message too long \(90000 bytes; one datagram holds at most 6550\d\)$/.test(line)
          ) {
            shown++;
          } else assert.fail(`unexpected line on stderr: ${line}\n${proc.describe()}`);
        }
        assert.equal(shown + held, ROUNDS, proc.describe());
        const seconds = Math.ceil((performance.now() - started) / 1000);
        assert.ok(shown <= seconds + 1, `${shown} errors shown in ${seconds} s\n${proc.describe()}`);
      });
    });
  }
});
