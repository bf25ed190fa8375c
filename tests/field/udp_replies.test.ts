// Replies that come late, twice or out of order, from a hostile UDP peer: request(), `doorway udp-client` and
// `doorway ping` must never take one for another request's. The peer is a node:dgram socket of this process,
// independent of doorway, driven by what it receives rather than by time: it holds replies back and sends them
// once the next request has arrived (so they land after it was sent), sends them twice, and sends the ones it held
// newest first. The command runs as a child under the runtime running this suite (with --unstable-net under a
// Deno that has it, for Deno.listenDatagram).
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { describe, test } from "node:test";
import { request, SocketError } from "../../mod.ts";
import { runtimeName } from "../../runtime/select.ts";
import { queuedDatagrams } from "../../udp/_raw_socket.ts";
import { bind, type DatagramSocket } from "../../udp/datagram_socket.ts";
import { type Child, rejectsWithCode, startChild } from "../_helpers.ts";
import { ROOT, runtimeCommand } from "../_runtimes.ts";

const SLOW = { timeout: 60_000 };
const text = new TextDecoder();

/** A datagram the peer received. */
interface Question {
  text: string;
  from: { address: string; port: number };
}

/** What the peer does with each question, one at a time, in arrival order. */
type Script = (question: Question, peer: HostilePeer) => Promise<void>;

/** A UDP peer on 127.0.0.1 that answers as its script says. */
class HostilePeer {
  readonly questions: Question[] = [];
  #socket: dgram.Socket;
  #queue: Promise<void> = Promise.resolve();
  #failure: unknown = undefined;

  private constructor(socket: dgram.Socket, script: Script) {
    this.#socket = socket;
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      const question = { text: text.decode(msg), from: { address: rinfo.address, port: rinfo.port } };
      this.questions.push(question);
      this.#queue = this.#queue.then(() => script(question, this)).catch((err) => {
        this.#failure ??= err;
      });
    });
    // ICMP port unreachable for a reply to a client that has gone is no failure.
    socket.on("error", () => {});
  }

  static start(script: Script): Promise<HostilePeer> {
    const socket = dgram.createSocket("udp4");
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => {
        socket.off("error", reject);
        resolve(new HostilePeer(socket, script));
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  get socket(): dgram.Socket {
    return this.#socket;
  }

  send(reply: string, to: { address: string; port: number }): Promise<void> {
    return new Promise((resolve) => this.#socket.send(reply, to.port, to.address, () => resolve()));
  }

  /** Closes the socket once the script has handled every question; rethrows what it threw. */
  async close(): Promise<void> {
    await this.#queue;
    this.#socket.close();
    if (this.#failure !== undefined) throw this.#failure;
  }
}

interface Held {
  reply: string;
  to: { address: string; port: number };
}

/** Sends what was held back, newest first: late for its request, and out of order. */
async function sendHeld(peer: HostilePeer, held: Held[]): Promise<void> {
  for (const { reply, to } of held.splice(0).reverse()) await peer.send(reply, to);
}

/**
 * The server of the report: it answers each line only once it is sent again (later than the client's timeout),
 * then twice at once, and once more after the next line has arrived.
 */
function slowAndRepeating(): Script {
  const held: Held[] = [];
  const seen = new Set<string>();
  return async ({ text, from }, peer) => {
    await sendHeld(peer, held);
    const reply = text.toUpperCase();
    if (!seen.has(text)) {
      seen.add(text);
      held.push({ reply, to: from });
      return;
    }
    await peer.send(reply, from);
    await peer.send(reply, from);
    held.push({ reply, to: from });
  };
}

/** Polls `condition` until it holds: for a datagram to reach a socket's queue, which no event announces. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`still waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function queued(socket: DatagramSocket): number {
  return queuedDatagrams.get(socket)!.length;
}

/** Runs `doorway ARGS` under the runtime running this suite, to its end. */
async function doorway(
  args: string[],
  input = "",
): Promise<{ code: number | string; stdout: string[]; stderr: string }> {
  let [command, commandArgs] = runtimeCommand(runtimeName(), "cli.ts", args);
  const listenDatagram = (globalThis as { Deno?: { listenDatagram?: unknown } }).Deno?.listenDatagram;
  if (typeof listenDatagram === "function") commandArgs = ["run", "--allow-net", "--unstable-net", "cli.ts", ...args];
  const child: Child = startChild(command, commandArgs, { cwd: ROOT });
  child.write(input);
  child.endInput();
  const stdout: string[] = [];
  for (let line = await child.nextLine(); !line.startsWith("<exited"); line = await child.nextLine()) stdout.push(line);
  return { code: await child.exited, stdout, stderr: child.stderr() };
}

describe(`udp replies on ${runtimeName()}: late, duplicated and reordered replies never answer the wrong request`, () => {
  test("request() without a socket: each request gets its own reply from a slow, repeating server", async () => {
    const peer = await HostilePeer.start(slowAndRepeating());
    const to = { hostname: "127.0.0.1", port: peer.port };
    const replies: string[] = [];
    for (const line of ["one", "two", "three", "four"]) {
      replies.push(text.decode((await request(line, { to, timeout: 200, retries: 2 })).data));
    }
    assert.deepEqual(replies, ["ONE", "TWO", "THREE", "FOUR"]);
    // Each line was sent twice, from a socket of its own.
    assert.deepEqual(peer.questions.map((q) => q.text), ["one", "one", "two", "two", "three", "three", "four", "four"]);
    assert.equal(new Set(peer.questions.map((q) => q.from.port)).size, 4);
    await peer.close();
  });

  test("request() on one socket: replies that came before the request are not its reply", async () => {
    const held: Held[] = [];
    const peer = await HostilePeer.start(async ({ text, from }, peer) => {
      // The first question goes unanswered while it is asked; the others are answered at once.
      if (text === "q1") held.push({ reply: "r1", to: from });
      else await peer.send(`r${text.slice(1)}`, from);
    });
    await using socket = await bind({ hostname: "127.0.0.1" });
    const to = { hostname: "127.0.0.1", port: peer.port };
    await rejectsWithCode(request("q1", { socket, to, timeout: 100, retries: 0 }), "ETIMEDOUT");
    // The late reply, twice, and a datagram from elsewhere, all waiting when the next request starts.
    await using elsewhere = await bind({ hostname: "127.0.0.1" });
    held.push(held[0]);
    await sendHeld(peer, held);
    await elsewhere.send("noise", socket.addr);
    await until(() => queued(socket) === 3, "three datagrams queued");
    const reply = await request("q2", { socket, to, timeout: 5000, retries: 0 });
    assert.equal(text.decode(reply.data), "r2");
    assert.deepEqual(reply.remote, { transport: "udp", hostname: "127.0.0.1", port: peer.port });
    // The datagram from elsewhere was left in place, then read past.
    assert.equal(queued(socket), 0);
    await peer.close();
  });

  test("request() on one socket with accept(): late, doubled and reordered replies are skipped", async () => {
    // Question n: n % 3 === 0 is answered only after the next question (late), 1 twice at once, 2 at once and
    // again after the next question; whatever was held goes out newest first, before the answer to the next.
    const held: Held[] = [];
    const peer = await HostilePeer.start(async ({ text, from }, peer) => {
      await sendHeld(peer, held);
      const n = Number(text.split(":")[1]);
      const reply = `ID:${n}`;
      if (n % 3 === 0) return void held.push({ reply, to: from });
      await peer.send(reply, from);
      if (n % 3 === 1) await peer.send(reply, from);
      else held.push({ reply, to: from });
    });
    await using socket = await bind({ hostname: "127.0.0.1" });
    const to = { hostname: "127.0.0.1", port: peer.port };
    const outcomes: string[] = [];
    for (let n = 1; n <= 9; n++) {
      try {
        const reply = await request(`id:${n}`, {
          socket,
          to,
          timeout: 200,
          retries: 0,
          accept: (reply) => text.decode(reply.data) === `ID:${n}`,
        });
        outcomes.push(text.decode(reply.data));
      } catch (err) {
        assert.ok(err instanceof SocketError && err.code === "ETIMEDOUT", String(err));
        outcomes.push("timed out");
      }
    }
    assert.deepEqual(outcomes, [
      "ID:1",
      "ID:2",
      "timed out",
      "ID:4",
      "ID:5",
      "timed out",
      "ID:7",
      "ID:8",
      "timed out",
    ]);
    await peer.close();
  });

  test("doorway udp-client against a server slower than --timeout prints each line's own reply", SLOW, async () => {
    const peer = await HostilePeer.start(slowAndRepeating());
    const result = await doorway(
      ["udp-client", "127.0.0.1", String(peer.port), "--timeout", "200", "--retries", "2"],
      "one\ntwo\nthree\nfour\n",
    );
    assert.deepEqual(result, { code: 0, stdout: ["ONE", "TWO", "THREE", "FOUR"], stderr: "" });
    await peer.close();
  });

  test(
    "doorway udp-client: a line whose reply comes too late is a timeout, not the next line's reply",
    SLOW,
    async () => {
      const peer = await HostilePeer.start(slowAndRepeating());
      const result = await doorway(
        ["udp-client", "127.0.0.1", String(peer.port), "--timeout", "200", "--retries", "0"],
        "one\ntwo\n",
      );
      assert.deepEqual(result, {
        code: 1,
        stdout: [],
        stderr: `Cannot request from 127.0.0.1:${peer.port}: timed out after 200 ms\n`,
      });
      await peer.close();
    },
  );

  test("doorway ping counts no reply for the wrong seq: late, doubled and reordered ones", SLOW, async () => {
    // Odd pings are answered at once, twice; even ones only after the next ping has arrived, newest first.
    const held: Held[] = [];
    const peer = await HostilePeer.start(async ({ text, from }, peer) => {
      await sendHeld(peer, held);
      const seq = Number(text.split(" ")[1]);
      if (seq % 2 === 0) return void held.push({ reply: text.toUpperCase(), to: from });
      await peer.send(text.toUpperCase(), from);
      await peer.send(text.toUpperCase(), from);
    });
    const result = await doorway([
      "ping",
      "127.0.0.1",
      String(peer.port),
      "--count",
      "6",
      "--interval",
      "0",
      "--timeout",
      "200",
      "--json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const summary = JSON.parse(result.stdout.join("\n"));
    assert.deepEqual(
      summary.pings.map((ping: { seq: number; time: number | null }) => [ping.seq, typeof ping.time]),
      [[1, "number"], [2, "object"], [3, "number"], [4, "object"], [5, "number"], [6, "object"]],
    );
    assert.deepEqual([summary.count, summary.received, summary.loss], [6, 3, 50]);
    await peer.close();
  });
});
