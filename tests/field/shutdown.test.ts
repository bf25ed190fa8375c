// Graceful shutdown under load: 50 clients each send about 1 MiB of numbered lines, then the server program
// (under this runtime) gets SIGTERM. Half the clients have sent it all without reading a reply (a backlog in
// the buffers both ways); the other half had their first half answered, so the server was idle on them, and
// send the second half only after the signal. Shutting down, the server stops accepting, and keeps reading
// and answering each connection until its client ends its input (or --graceful-timeout passes); its replies
// end with a FIN, so no reset destroys them. Every client reads all replies after the signal and half-closes
// once all its lines are written. Every line must be answered, uppercased and in order, each stream must end
// cleanly, and the server must exit 0 well within its grace.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import { describe, it } from "node:test";
import {
  CURRENT_RUNTIME,
  delay,
  LOOPBACK,
  type ProgramName,
  tcpListening,
  withDeadline,
  withProgram,
} from "./_field.ts";

const CLIENTS = 50;
const LINES_PER_CLIENT = Math.ceil((1 << 20) / 12);
const GRACE_MS = 30_000;

/** "line 000000\n" to "line 087381\n": 12 bytes a line, about 1 MiB. */
const PAYLOAD = Buffer.from(
  Array.from({ length: LINES_PER_CLIENT }, (_, i) => `line ${String(i).padStart(6, "0")}\n`).join(""),
);
const EXPECTED = Buffer.from(PAYLOAD.toString("latin1").toUpperCase(), "latin1");

// The idle clients' first half: a whole number of lines.
const HALF = Math.floor(LINES_PER_CLIENT / 2) * 12;

/** One client: what it has received, and how its stream ended. */
class LoadClient {
  readonly socket: net.Socket;
  received = 0;
  /** The first difference from the expected replies, or how the stream failed. */
  fault: string | undefined;
  /** Resolves once the stream has ended or failed. */
  readonly done: Promise<void>;
  #waiters: Array<{ bytes: number; resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(readonly id: number, host: string, port: number) {
    this.socket = net.connect({ host, port, allowHalfOpen: true });
    this.done = new Promise((resolve) => {
      this.socket.on("data", (chunk: Buffer) => {
        const at = this.received;
        this.received += chunk.length;
        if (this.fault === undefined && !chunk.equals(EXPECTED.subarray(at, at + chunk.length))) {
          this.fault = `reply bytes ${at}..${at + chunk.length} differ: got ${
            JSON.stringify(chunk.subarray(0, 24).toString("latin1"))
          }, expected ${JSON.stringify(EXPECTED.subarray(at, at + 24).toString("latin1"))}`;
        }
        this.#wake();
      });
      this.socket.on("end", () => {
        if (this.fault === undefined && this.received !== EXPECTED.length) {
          this.fault = `stream ended after ${this.received} of ${EXPECTED.length} reply bytes`;
        }
        this.socket.destroy();
        this.#wake();
        resolve();
      });
      this.socket.on("error", (err: Error & { code?: string }) => {
        this.fault ??= `${err.code ?? err.message} after ${this.received} of ${EXPECTED.length} reply bytes`;
        this.#wake();
        resolve();
      });
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) {
      if (this.received >= waiter.bytes) waiter.resolve();
      else if (this.fault !== undefined || this.socket.destroyed) {
        waiter.reject(new Error(`client ${this.id}: ${this.fault}`));
      } else this.#waiters.push(waiter);
    }
  }

  /** Resolves once `bytes` of replies have come. */
  #repliesUpTo(bytes: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ bytes, resolve, reject });
      this.#wake();
    });
  }

  /** Sends lines `from` to `to` (byte offsets), then, with `end`, ends the input once they are all written. */
  #send(from: number, to: number, end: boolean): void {
    this.socket.write(PAYLOAD.subarray(from, to), (err) => {
      if (err == null && end) this.socket.end();
    });
  }

  /** Sends the first line and waits for its reply: the server has accepted and serves this connection. */
  start(): Promise<void> {
    this.#send(0, 12, false);
    return this.#repliesUpTo(12);
  }

  /** A backlogged client: stops reading, then sends every line; they go out as fast as the server takes them. */
  sendAllUnread(): Promise<void> {
    this.socket.pause();
    this.#send(12, PAYLOAD.length, true);
    return Promise.resolve();
  }

  /** An idle client: sends its first half and waits until it is all answered. */
  sendFirstHalf(): Promise<void> {
    this.#send(12, HALF, false);
    return this.#repliesUpTo(HALF);
  }

  /** After the signal: reads every reply, and an idle client sends its second half. */
  afterSignal(idle: boolean): void {
    this.socket.resume();
    if (idle) this.#send(HALF, PAYLOAD.length, true);
  }
}

async function checkShutdownUnderLoad(name: ProgramName): Promise<void> {
  await withProgram(
    { name, args: [...LOOPBACK, "--graceful-timeout", String(GRACE_MS)] },
    async ({ proc, host, port }) => {
      const clients: LoadClient[] = [];
      try {
        for (let id = 0; id < CLIENTS; id++) clients.push(new LoadClient(id, host, port));
        await withDeadline(Promise.all(clients.map((client) => client.start())), 10_000, "the first replies");
        const idle = (client: LoadClient) => client.id % 2 === 1;
        await withDeadline(
          Promise.all(clients.map((client) => idle(client) ? client.sendFirstHalf() : client.sendAllUnread())),
          20_000,
          "the idle clients' first halves to be answered",
        );

        proc.kill("SIGTERM");
        const signalled = performance.now();
        // Shutdown has begun once the listener is closed.
        while (await tcpListening(host, port)) {
          assert.ok(performance.now() - signalled < 10_000, `still accepting 10 s after SIGTERM\n${proc.describe()}`);
          await delay(20);
        }
        for (const client of clients) client.afterSignal(idle(client));

        await withDeadline(Promise.all(clients.map((client) => client.done)), GRACE_MS, () => {
          const open = clients.filter((client) => client.socket.readyState !== "closed").length;
          return `the replies: ${open} client(s) still open\n${proc.describe()}`;
        });
        const faults = clients.flatMap((client) =>
          client.fault === undefined ? [] : [`client ${client.id}: ${client.fault}`]
        );
        assert.deepEqual(faults, [], `${faults.length} of ${CLIENTS} clients lost replies\n${proc.describe()}`);
        const status = await proc.waitExit(GRACE_MS + 5000 - (performance.now() - signalled));
        assert.equal(status, 0, proc.describe());
        // The server had until its grace ran out; it needed only as long as the clients took to finish.
        assert.ok(performance.now() - signalled < GRACE_MS, `exited only after ${GRACE_MS} ms of grace`);
      } finally {
        for (const client of clients) client.socket.destroy();
      }
    },
  );
}

describe(`graceful shutdown under load, under ${CURRENT_RUNTIME}`, () => {
  const programs: ProgramName[] = ["examples/tcp_server.ts", "cli.ts tcp-server"];
  for (const name of programs) {
    it(
      `${name}: SIGTERM amid ${CLIENTS} clients sending 1 MiB of lines each; every line is answered`,
      { timeout: 90_000 },
      () => checkShutdownUnderLoad(name),
    );
  }
});
