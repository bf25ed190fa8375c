// The datagram server's answer loop (udp/_answer_loop.ts) against a scripted
// sender, where every step is exact; serveDatagrams runs it on real sockets
// in the conformance suite.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NetAddr } from "../../runtime/contract.ts";
import { AnswerLoop, type DatagramAnswerer, type Reply } from "../../udp/_answer_loop.ts";
import { DatagramQueue } from "../../udp/_datagram_queue.ts";

const text = new TextEncoder();
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const from = (port: number): NetAddr => ({ transport: "udp", hostname: "127.0.0.1", port });

/** An answerer and a sender that record everything, the sender's room set by the test. */
class Script implements DatagramAnswerer {
  sent: string[] = [];
  failed: string[] = [];
  room = true;
  answers: Record<string, Reply | Promise<Reply> | Error> = {};
  answered: string[] = [];
  queue = new DatagramQueue();
  loop = new AnswerLoop(this, this.queue, (reply, data, remote) => {
    this.sent.push(`${typeof reply === "string" ? reply : str(reply)}>${remote.port} (${str(data)})`);
    return this.room;
  });

  answer(data: Uint8Array): Reply | Promise<Reply> {
    const line = str(data);
    this.answered.push(line);
    const answer = line in this.answers ? this.answers[line] : line.toUpperCase();
    if (answer instanceof Error) throw answer;
    return answer;
  }

  fail(error: unknown, data: Uint8Array, remote: NetAddr): void {
    this.failed.push(`${(error as Error).message}: ${str(data)} from ${remote.port}`);
  }

  offer(line: string, port = 1): void {
    this.loop.offer(text.encode(line), from(port));
  }
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(reason: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("AnswerLoop", () => {
  test("synchronous answers go out at once, in order, to each sender; undefined sends nothing", () => {
    const s = new Script();
    s.answers.quiet = undefined;
    s.answers.bytes = Uint8Array.of(0x41, 0x42);
    s.offer("a", 1);
    assert.deepEqual(s.sent, ["A>1 (a)"]);
    s.offer("quiet", 2);
    s.offer("bytes", 3);
    s.offer("b", 4);
    assert.deepEqual(s.sent, ["A>1 (a)", "AB>3 (bytes)", "B>4 (b)"]);
    assert.equal(s.queue.length, 0);
  });

  test("a sender out of room: later datagrams wait, then go in order on resume()", () => {
    const s = new Script();
    s.room = false;
    s.offer("a");
    s.offer("b");
    s.offer("c");
    assert.deepEqual(s.answered, ["a"]);
    assert.equal(s.queue.length, 2);
    // Room for one more reply only: the loop stops again after it.
    s.loop.resume();
    assert.deepEqual(s.answered, ["a", "b"]);
    s.room = true;
    s.loop.resume();
    assert.deepEqual(s.sent.map((x) => x.slice(0, 1)), ["A", "B", "C"]);
    s.offer("d");
    assert.deepEqual(s.answered, ["a", "b", "c", "d"]);
  });

  test("a promised answer holds back later datagrams until it settles, then order is kept", async () => {
    const s = new Script();
    const slow = deferred<Reply>();
    s.answers.slow = slow.promise;
    s.offer("slow");
    s.offer("x");
    s.offer("y");
    assert.deepEqual(s.answered, ["slow"]);
    slow.resolve("SLOW!");
    await slow.promise;
    await Promise.resolve();
    assert.deepEqual(s.sent.map((x) => x.split(">")[0]), ["SLOW!", "X", "Y"]);
  });

  test("a throw or a rejection goes to fail() with its datagram, and the loop goes on", async () => {
    const s = new Script();
    const rejected = deferred<Reply>();
    s.answers.boom = new Error("boom");
    s.answers.later = rejected.promise;
    s.offer("boom", 7);
    s.offer("later", 8);
    s.offer("after", 9);
    rejected.reject(new Error("no"));
    await rejected.promise.catch(() => {});
    await Promise.resolve();
    assert.deepEqual(s.failed, ["boom: boom from 7", "no: later from 8"]);
    assert.deepEqual(s.sent, ["AFTER>9 (after)"]);
  });

  test("a send that throws goes to fail(); the next datagram is answered", () => {
    const queue = new DatagramQueue();
    const failed: string[] = [];
    const sent: string[] = [];
    const loop = new AnswerLoop(
      {
        answer: (data) => str(data),
        fail: (error, data) => failed.push(`${(error as Error).message}: ${str(data)}`),
      },
      queue,
      (reply) => {
        if (reply === "bad") throw new Error("EMSGSIZE");
        sent.push(reply as string);
        return true;
      },
    );
    loop.offer(text.encode("bad"), from(1));
    loop.offer(text.encode("good"), from(1));
    assert.deepEqual(failed, ["EMSGSIZE: bad"]);
    assert.deepEqual(sent, ["good"]);
  });

  test("close() while an answer is pending: finished waits for it, and its reply is not sent", async () => {
    const s = new Script();
    const slow = deferred<Reply>();
    s.answers.slow = slow.promise;
    s.offer("slow");
    s.offer("queued");
    let finished = false;
    const done = s.loop.finished.then(() => (finished = true));
    s.loop.close();
    s.offer("late");
    await Promise.resolve();
    assert.equal(finished, false);
    slow.resolve("SLOW");
    await done;
    assert.deepEqual(s.sent, []);
    assert.deepEqual(s.answered, ["slow"]);
  });

  test("close() with nothing pending finishes at once", async () => {
    const s = new Script();
    s.offer("a");
    s.loop.close();
    await s.loop.finished;
    assert.deepEqual(s.sent, ["A>1 (a)"]);
  });

  test("what waits is bounded: past the queue's bound datagrams are dropped and counted", () => {
    const s = new Script();
    s.room = false;
    s.offer("first");
    for (let i = 0; i < 1100; i++) s.offer(`d${i}`);
    assert.equal(s.queue.length, 1024);
    assert.equal(s.queue.dropped, 1100 - 1024);
    s.room = true;
    s.loop.resume();
    assert.equal(s.sent.length, 1 + 1024);
    assert.equal(s.sent.at(-1), "D1023>1 (d1023)");
  });
});
