// The line decoder is pure: these tests feed it bytes, no sockets.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LineDecoder, SocketError } from "../../mod.ts";

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
    // A cut character turns into U+FFFD; a BOM past the start of the stream is a character.
    assert.deepEqual(one(Uint8Array.of(0x41, 0xe2, 0x82, 0x0d, 0x0a)), ["A\ufffd"]);
    assert.deepEqual(one(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41, 0x0a)), ["\ufeffA"]);
    // Two lines whose chunk is the whole buffer: the second keeps its BOM too.
    assert.deepEqual(one(Uint8Array.of(0x41, 0x0a, 0xef, 0xbb, 0xbf, 0x42, 0x0d, 0x0a)), ["A", "\ufeffB"]);
    assert.equal(decoder.buffered, 0);
  });

  test("a BOM is dropped only at the very start of the stream, as TextDecoder does in stream mode", () => {
    const BOM = [0xef, 0xbb, 0xbf];
    const A = [0x41, 0x0a];
    const B = [0x42, 0x0d, 0x0a];
    // Each stream is pushed whole, a byte at a time, and in two chunks cut at every offset: whichever
    // path decodes them (one line, a batch, an owned buffer), the lines are TextDecoder's for the stream.
    const streams = [
      [...BOM, ...A, ...BOM, ...B], // the second line keeps its BOM (each line lost it before the fix)
      [...A, ...BOM, ...A], // a line of its own, mid-stream
      [...BOM, ...BOM, ...A], // only the first of two is dropped
      [...BOM, 0x0a, ...BOM, 0x0a], // lines that are nothing but a BOM
      [...BOM, 0xc3, 0xa9, 0x0a, ...BOM, 0xc3, 0xa9, 0x0a, ...BOM, 0x0a], // a batch that is not ASCII
    ];
    const expected = [
      ["A", "\ufeffB"],
      ["A", "\ufeffA"],
      ["\ufeffA"],
      ["", "\ufeff"],
      ["é", "\ufeffé", "\ufeff"],
    ];
    streams.forEach((stream, i) => {
      const bytes = Uint8Array.from(stream);
      const oracle = new TextDecoder().decode(bytes).split("\n").slice(0, -1).map((line) => line.replace(/\r$/, ""));
      assert.deepEqual(oracle, expected[i]);
      assert.deepEqual(new LineDecoder().decode(bytes), expected[i], `stream ${i}, whole`);
      const single = new LineDecoder();
      const lines: string[] = [];
      for (const byte of bytes) lines.push(...single.decode(Uint8Array.of(byte)));
      assert.deepEqual(lines, expected[i], `stream ${i}, byte by byte`);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const decoder = new LineDecoder();
        const got = [...decoder.decode(bytes.slice(0, cut)), ...decoder.decode(bytes.slice(cut))];
        assert.deepEqual(got, expected[i], `stream ${i}, cut at ${cut}`);
      }
    });
    // The last line at end of stream, too.
    const fresh = new LineDecoder();
    fresh.push(Uint8Array.of(...BOM, 0x41));
    assert.equal(fresh.end(), "A");
    const later = new LineDecoder();
    assert.deepEqual(later.decode(Uint8Array.of(...A, ...BOM, 0x41)), ["A"]);
    assert.equal(later.end(), "\ufeffA");
    // Bytes taken raw are the start of the stream; taking none is not.
    const taken = new LineDecoder();
    taken.push(enc("hi"));
    assert.deepEqual(taken.take(), enc("hi"));
    assert.deepEqual(taken.decode(Uint8Array.of(...BOM, ...A)), ["\ufeffA"]);
    const none = new LineDecoder();
    none.push(Uint8Array.of(...BOM, ...A));
    assert.deepEqual(none.take(0), new Uint8Array(0));
    assert.deepEqual(none.decode(), ["A"]);
  });

  test("a line near maxLineBytes is held in about maxLineBytes of memory, not twice that", () => {
    // take() of everything an owned buffer holds is a view of that buffer (the decoder lets go of
    // it): its ArrayBuffer is what the decoder held. Doubling the buffer held up to twice the limit.
    for (const max of [8, 100, 1000, 65_536]) {
      for (const size of [1, 3, 7, 100, 1000]) {
        if (size >= max) continue;
        const decoder = new LineDecoder({ maxLineBytes: max });
        const line = new Uint8Array(max).fill(0x78);
        for (let at = 0; at < max; at += size) assert.deepEqual(decoder.decode(line.subarray(at, at + size)), []);
        assert.equal(decoder.buffered, max);
        const held = decoder.take();
        assert.deepEqual(held, line);
        // The line, and room for a \r\n.
        assert.ok(held.buffer.byteLength <= max + 2, `${held.buffer.byteLength} bytes held for a limit of ${max}`);
      }
    }
  });

  test("whole lines past maxLineBytes grow the buffer by doubling, not by a copy of everything per push", () => {
    // Growing to exactly what is needed past the limit copied every buffered byte on every push:
    // quadratic in the lines buffered. The buffer held after n pushes shows which growth ran.
    const decoder = new LineDecoder({ maxLineBytes: 100 });
    const line = new TextEncoder().encode("x".repeat(19) + "\n");
    for (let i = 0; i < 10_000; i++) decoder.push(line);
    const held = decoder.take();
    assert.equal(held.byteLength, 200_000);
    // Grown to fit, it is exactly full after every push; doubled, it has room to spare.
    assert.ok(held.buffer.byteLength > held.byteLength, `${held.buffer.byteLength} bytes: grown to fit, not doubled`);
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

  test("detach() lets go of a buffer grown for a large chunk once only a partial line is left", () => {
    // A partial line, then 500 KB of lines ending in another: the decoder copies both into one
    // buffer of its own. Held whole, that buffer would stay for as long as the partial line waits.
    const decoder = new LineDecoder();
    decoder.push(enc("fir"));
    decoder.detach();
    decoder.push(enc("st\n" + ("y".repeat(99) + "\n").repeat(5_000) + "partial"));
    const lines = decoder.nextLines();
    assert.equal(lines.length, 5_001);
    assert.deepEqual([lines[0], lines[1], lines[5_000]], ["first", "y".repeat(99), "y".repeat(99)]);
    decoder.detach();
    // take() of everything an owned buffer holds is a view of that buffer: its ArrayBuffer is
    // what the decoder held.
    const held = decoder.take();
    assert.deepEqual(held, enc("partial"));
    assert.ok(held.buffer.byteLength <= 1024, `${held.buffer.byteLength} bytes held for 7`);
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
