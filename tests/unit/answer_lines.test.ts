// answerLines against a scripted Conn: the number of writes is exact here,
// which a real socket (that merges segments) cannot show.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { answerLines, type Conn, LineDecoder, SocketError, uppercase } from "../../mod.ts";

/** A Conn that delivers `chunks` one read at a time and records writes. */
function scriptedConn(chunks: string[], options: { maxLineBytes?: number } = {}): Conn & { writes: string[] } {
  const decoder = new LineDecoder(options);
  const queue = chunks.map((c) => new TextEncoder().encode(c));
  const writes: string[] = [];
  let writeClosed = false;
  const conn = {
    writes,
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 2 },
    // Each read takes one scripted chunk, as a socket read would.
    readLines(): Promise<string[] | null> {
      for (;;) {
        const lines = decoder.decode();
        if (lines.length > 0) return Promise.resolve(lines);
        const chunk = queue.shift();
        if (chunk === undefined) {
          const rest = decoder.end();
          return Promise.resolve(rest === undefined ? null : [rest]);
        }
        decoder.push(chunk);
      }
    },
    read: () => Promise.resolve(null),
    write(data: string | Uint8Array): Promise<number> {
      assert.equal(writeClosed, false, "write after closeWrite");
      writes.push(typeof data === "string" ? data : new TextDecoder().decode(data));
      return Promise.resolve(0);
    },
    closeWrite(): Promise<void> {
      writeClosed = true;
      return Promise.resolve();
    },
  };
  return conn as unknown as Conn & { writes: string[] };
}

describe("answerLines", () => {
  test("lines that arrive together are answered in one write, in order", async () => {
    const conn = scriptedConn(["one\ntwo\r\nthree\n", "four\nfi", "ve\n"]);
    await answerLines(conn, uppercase);
    assert.deepEqual(conn.writes, ["ONE\nTWO\nTHREE\n", "FOUR\n", "FIVE\n"]);
  });

  test("an unterminated last line is answered at end of stream", async () => {
    const conn = scriptedConn(["last words"]);
    await answerLines(conn, uppercase);
    assert.deepEqual(conn.writes, ["LAST WORDS\n"]);
  });

  test("async responders keep the order of the batch", async () => {
    const conn = scriptedConn(["a\nb\nc\n"]);
    await answerLines(conn, async (line) => {
      await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
      return line + line;
    });
    assert.deepEqual(conn.writes, ["aa\nbb\ncc\n"]);
  });

  test("a responder that throws stops the loop with its error, after answering the lines before", async () => {
    const conn = scriptedConn(["ok\nbad\n"]);
    await assert.rejects(
      answerLines(conn, (line) => {
        if (line === "bad") throw new SocketError("EINVAL", "Cannot answer: bad request");
        return line;
      }),
      { code: "EINVAL", message: "Cannot answer: bad request" },
    );
    assert.deepEqual(conn.writes, ["ok\n"]);
  });
});
