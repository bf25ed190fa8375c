// The line decoder is pure: these tests feed it bytes, no sockets.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LineDecoder, SocketError } from "../mod.ts";

const enc = (text: string) => new TextEncoder().encode(text);

describe("LineDecoder", () => {
  test("many lines in one chunk, \\n and \\r\\n both end a line", () => {
    const decoder = new LineDecoder();
    assert.deepEqual(decoder.decode(enc("a\nbb\r\n\nccc\r\nrest")), ["a", "bb", "", "ccc"]);
    assert.equal(decoder.buffered, 4);
    assert.equal(decoder.end(), "rest");
    assert.equal(decoder.end(), undefined);
  });

  test("a chunk that is exactly one line decodes as that line alone would", () => {
    const decoder = new LineDecoder();
    const one = (bytes: Uint8Array) => decoder.decode(bytes);
    assert.deepEqual(one(enc("héllo\n")), ["héllo"]);
    assert.deepEqual(one(enc("crlf\r\n")), ["crlf"]);
    assert.deepEqual(one(enc("\n")), [""]);
    assert.deepEqual(one(enc("\r\n")), [""]);
    // A lone decode drops a leading BOM and turns a cut character into U+FFFD.
    assert.deepEqual(one(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41, 0x0a)), ["A"]);
    assert.deepEqual(one(Uint8Array.of(0x41, 0xe2, 0x82, 0x0d, 0x0a)), ["A\ufffd"]);
    // Two lines whose chunk is the whole buffer: the second's BOM is dropped too.
    assert.deepEqual(one(Uint8Array.of(0x41, 0x0a, 0xef, 0xbb, 0xbf, 0x42, 0x0d, 0x0a)), ["A", "B"]);
    assert.equal(decoder.buffered, 0);
  });

  test("a line split over many chunks; a character split between chunks stays whole", () => {
    const decoder = new LineDecoder();
    const bytes = enc("€uro 😀\r\n");
    const lines: string[] = [];
    for (const byte of bytes) lines.push(...decoder.decode(Uint8Array.of(byte)));
    assert.deepEqual(lines, ["€uro 😀"]);
    assert.equal(decoder.buffered, 0);
  });

  test("a \\r\\n split between chunks counts as one terminator", () => {
    const decoder = new LineDecoder({ maxLineBytes: 3 });
    assert.deepEqual(decoder.decode(enc("abc\r")), []);
    assert.deepEqual(decoder.decode(enc("\n")), ["abc"]);
  });

  test("next() says 'need more bytes' with undefined, never an error", () => {
    const decoder = new LineDecoder();
    decoder.push(enc("partial"));
    assert.equal(decoder.next(), undefined);
    decoder.push(enc(" line\n"));
    assert.equal(decoder.next(), "partial line");
    assert.equal(decoder.next(), undefined);
  });

  test("a line over maxLineBytes fails as soon as it cannot fit, and keeps failing", () => {
    const decoder = new LineDecoder({ maxLineBytes: 8 });
    assert.deepEqual(decoder.decode(enc("12345678\n")), ["12345678"]);
    assert.deepEqual(decoder.decode(enc("12345678")), []);
    assert.throws(() => decoder.decode(enc("9")), (err) => {
      assert.ok(err instanceof SocketError);
      assert.equal(err.code, "ELINETOOLONG");
      assert.equal(err.message, "Cannot decode line: longer than 8 bytes");
      return true;
    });
    assert.equal(decoder.buffered, 0);
    assert.throws(() => decoder.next(), { code: "ELINETOOLONG" });
  });

  test("an over-long line that arrives whole in one chunk fails too", () => {
    const decoder = new LineDecoder({ maxLineBytes: 4 });
    assert.throws(() => decoder.decode(enc("ok\ntoo long\n")), { code: "ELINETOOLONG" });
    // A chunk that is one line, as a request usually is: the limit counts
    // bytes, not characters, and not the terminator.
    assert.deepEqual(new LineDecoder({ maxLineBytes: 4 }).decode(enc("1234\r\n")), ["1234"]);
    assert.deepEqual(new LineDecoder({ maxLineBytes: 4 }).decode(enc("éé\n")), ["éé"]);
    for (const line of ["12345\n", "1234\r\r\n", "é€\n"]) {
      assert.throws(() => new LineDecoder({ maxLineBytes: 4 }).decode(enc(line)), { code: "ELINETOOLONG" }, line);
    }
  });

  test("in a batch of lines, those before an over-long one are returned first; bytes stay counted", () => {
    for (const [batch, mixed] of [["ok\r\nfine\ntoo long\nnever\n", false], ["ok\r\nfiné\ntoo long\nnever\n", true]]) {
      const decoder = new LineDecoder({ maxLineBytes: 5 });
      decoder.push(enc(batch as string));
      const total = enc(batch as string).byteLength;
      assert.equal(decoder.next(), "ok", `mixed: ${mixed}`);
      assert.equal(decoder.buffered, total - 4);
      assert.equal(decoder.next(), mixed ? "finé" : "fine");
      assert.throws(() => decoder.next(), { code: "ELINETOOLONG" });
      assert.equal(decoder.buffered, 0);
    }
    // Mid-batch, take() gets the bytes of the lines not yet returned.
    const decoder = new LineDecoder();
    decoder.push(enc("a\r\nb\nc\npartial"));
    assert.equal(decoder.next(), "a");
    assert.deepEqual(decoder.take(), enc("b\nc\npartial"));
    assert.equal(decoder.next(), undefined);
  });

  test("take() hands back raw bytes in order, leaving the rest", () => {
    const decoder = new LineDecoder();
    decoder.push(enc("line\nab"));
    decoder.push(enc("cdef"));
    assert.equal(decoder.next(), "line");
    assert.deepEqual(decoder.take(3), enc("abc"));
    decoder.push(enc("g\n"));
    assert.deepEqual(decoder.take(), enc("defg\n"));
    assert.equal(decoder.buffered, 0);
  });

  test("detach() keeps what is left of a chunk, so the caller may reuse it", () => {
    const decoder = new LineDecoder();
    const reused = new Uint8Array(16);
    const fill = (bytes: Uint8Array) => {
      reused.fill(0x58);
      reused.set(bytes);
      return reused.subarray(0, bytes.byteLength);
    };
    const e = enc("é");
    // "two" is decoded ahead with "one": detach() must not lose it.
    decoder.push(fill(enc("one\ntwo\nthr")));
    assert.equal(decoder.next(), "one");
    decoder.detach();
    decoder.push(fill(Uint8Array.of(...enc("ee\n"), e[0])));
    assert.deepEqual(decoder.decode(), ["two", "three"]);
    decoder.detach();
    // Half of "é" was left; the chunk is overwritten with its other half.
    decoder.push(fill(Uint8Array.of(e[1], 0x0a)));
    assert.deepEqual(decoder.decode(), ["é"]);
    assert.equal(decoder.buffered, 0);
    // Node's Buffer: its slice() is a view, not a copy.
    class ViewSlice extends Uint8Array {
      override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
        return this.subarray(start, end);
      }
    }
    const node = new ViewSlice(16);
    node.set(enc("ab\ncd"));
    decoder.push(node.subarray(0, 5));
    assert.equal(decoder.next(), "ab");
    decoder.detach();
    node.set(enc("XX\nYY"));
    decoder.push(enc("\n"));
    assert.deepEqual(decoder.decode(), ["cd"]);
  });

  test("take() gives a plain Uint8Array even when a subclass was pushed (Node's Buffer)", () => {
    class Bytes extends Uint8Array {}
    const decoder = new LineDecoder();
    decoder.push(new Bytes(enc("line\nrest")));
    assert.equal(decoder.next(), "line");
    const bytes = decoder.take();
    assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
    assert.deepEqual(bytes, enc("rest"));
  });

  test("newlines are found in short and long lines alike, one chunk or many", () => {
    const lines = [0, 1, 63, 64, 65, 200, 5].map((n) => "x".repeat(n));
    const text = lines.join("\n") + "\n";
    const whole = new LineDecoder();
    assert.deepEqual(whole.decode(enc(text)), lines);
    const pieces = new LineDecoder();
    const got: string[] = [];
    const bytes = enc(text);
    for (let i = 0; i < bytes.length; i += 7) got.push(...pieces.decode(bytes.subarray(i, i + 7)));
    assert.deepEqual(got, lines);
  });

  test("invalid maxLineBytes is EINVAL", () => {
    assert.throws(() => new LineDecoder({ maxLineBytes: 0 }), { code: "EINVAL" });
  });
});
