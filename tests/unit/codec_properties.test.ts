// Properties of the two framing codecs over random messages and random cuts of
// the byte stream: a decoder must not care where the network split its input.
import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import fc from "fast-check";
import { FrameDecoder } from "../../protocol/frame_decoder.ts";
import { encodeFrame } from "../../protocol/frame_encoder.ts";
import { LineDecoder } from "../../protocol/line_decoder.ts";
import { SocketError } from "../../socket_error.ts";
import { concat } from "../_helpers.ts";

// One seed for every run, so that a failure is the same on every runtime and
// every run: fast-check prints the seed and the path to the failing case, and
// DOORWAY_SEED=<seed> runs it again (or explores another part of the space).
const SEED = Number(process.env.DOORWAY_SEED ?? 20_250_611);
if (!Number.isSafeInteger(SEED)) throw new Error(`DOORWAY_SEED must be an integer, got ${process.env.DOORWAY_SEED}`);
// Bounded so each runtime runs the whole file in a few seconds.
const RUNS = { numRuns: 300, seed: SEED };
const LF = 10;
const CR = 13;
const utf8 = new TextEncoder();

/**
 * Any way of cutting a stream into chunks, empty chunks included: a few cuts
 * anywhere, or many small chunks of sizes taken in turn from a list.
 */
type Cutting = { cuts: number[] } | { sizes: number[] };
const cuttingArb: fc.Arbitrary<Cutting> = fc.oneof(
  fc.record({ cuts: fc.array(fc.nat(), { maxLength: 12 }) }),
  fc.record({ sizes: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 8 }) }),
);

function split(bytes: Uint8Array, cutting: Cutting): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  if ("sizes" in cutting) {
    const { sizes } = cutting;
    // An all-zero list would never end: treat a zero-sum list as one-byte chunks.
    const fallback = sizes.every((size) => size === 0);
    for (let from = 0, i = 0; from < bytes.length; i++) {
      const to = from + (fallback ? 1 : sizes[i % sizes.length]);
      chunks.push(bytes.subarray(from, to));
      from = to;
    }
    return chunks;
  }
  const points = cutting.cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b);
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

// Characters that stress the decoder: \r inside a line, multi-byte UTF-8 that
// chunks can cut in half, NUL, a BOM (dropped at the start of the stream only);
// plus any code point at all.
const charArb = fc.oneof(
  fc.constantFrom("\r", "a", "é", "€", "😀", "\0", "\ufeff"),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => c !== "\n"),
);
const lineArb = fc.string({ unit: charArb, maxLength: 24 });

/** A line and its terminator; a line ending in `\r` needs `\r\n`, or it reads as one. */
const terminatedLineArb = fc.tuple(lineArb, fc.boolean()).map(([line, crlf]) => ({
  line,
  crlf: crlf || line.endsWith("\r"),
}));

/**
 * The lines a decoder returns for `lines`: as written, but for a BOM at the
 * very start of the stream, which is dropped as TextDecoder drops it.
 */
function decodedLines(lines: string[]): string[] {
  return lines.map((line, i) => (i === 0 ? withoutBom(line) : line));
}

function withoutBom(text: string): string {
  return text.startsWith("\ufeff") ? text.slice(1) : text;
}

interface Drained<T> {
  messages: T[];
  error: unknown;
  /** Bytes pushed when the error was thrown. */
  pushedAtError: number;
  /** The most bytes left buffered after `next()` said it needed more. */
  maxBuffered: number;
}

/**
 * Pushes each chunk and calls `next()` until it needs more, as a connection
 * does, stopping at the first error. A decoder with `detach()` is detached
 * after each chunk, which is then overwritten, as a connection's read buffer
 * is by its next read.
 */
function drain<T>(
  decoder: { push(chunk: Uint8Array): void; next(): T | undefined; readonly buffered: number; detach?(): void },
  chunks: Uint8Array[],
): Drained<T> {
  const result: Drained<T> = { messages: [], error: undefined, pushedAtError: -1, maxBuffered: 0 };
  let pushed = 0;
  for (const original of chunks) {
    const chunk = decoder.detach === undefined ? original : original.slice();
    decoder.push(chunk);
    pushed += chunk.length;
    try {
      for (let message = decoder.next(); message !== undefined; message = decoder.next()) {
        result.messages.push(message);
      }
    } catch (err) {
      result.error = err;
      result.pushedAtError = pushed;
      return result;
    }
    result.maxBuffered = Math.max(result.maxBuffered, decoder.buffered);
    if (decoder.detach !== undefined) {
      decoder.detach();
      chunk.fill(0xff);
    }
  }
  return result;
}

/** How many bytes are pushed once the first chunk that reaches `offset` is in. */
function firstReaching(chunks: Uint8Array[], offset: number): number {
  let pushed = 0;
  for (const chunk of chunks) {
    pushed += chunk.length;
    if (pushed >= offset) break;
  }
  return pushed;
}

function isCode(err: unknown, code: string): boolean {
  return err instanceof SocketError && err.code === code;
}

describe("LineDecoder properties", () => {
  test("any lines, cut anywhere, come back exactly, and so does an unterminated rest", () => {
    fc.assert(
      fc.property(
        fc.array(terminatedLineArb, { maxLength: 60, size: "medium" }),
        fc.option(lineArb.filter((rest) => rest !== "" && !rest.endsWith("\r"))),
        cuttingArb,
        (lines, rest, cutting) => {
          const text = lines.map(({ line, crlf }) => line + (crlf ? "\r\n" : "\n")).join("") + (rest ?? "");
          const decoder = new LineDecoder();
          const { messages, error } = drain(decoder, split(utf8.encode(text), cutting));
          assert.equal(error, undefined);
          assert.deepEqual(messages, decodedLines(lines.map(({ line }) => line)));
          const last = rest === null || lines.length > 0 ? rest : withoutBom(rest);
          assert.equal(decoder.end(), last ?? undefined);
          assert.equal(decoder.buffered, 0);
        },
      ),
      // A BOM that starts a line after the first: each one was dropped before.
      { ...RUNS, examples: [[[{ line: "a", crlf: false }, { line: "\ufeffb", crlf: true }], null, { cuts: [] }]] },
    );
  });

  test("maxLineBytes: lines up to the limit pass, the first longer one fails as soon as it must", () => {
    fc.assert(
      fc.property(
        fc.array(terminatedLineArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 40 }),
        cuttingArb,
        (lines, max, cutting) => {
          const encoded = lines.map(({ line, crlf }) => utf8.encode(line + (crlf ? "\r\n" : "\n")));
          const bytes = concat(encoded);
          const sizes = lines.map(({ line }) => utf8.encode(line).length);
          const bad = sizes.findIndex((size) => size > max);
          const decoder = new LineDecoder({ maxLineBytes: max });
          const chunks = split(bytes, cutting);
          const { messages, error, pushedAtError, maxBuffered } = drain(decoder, chunks);
          // One byte of slack: a trailing \r may be half of a \r\n.
          assert.ok(maxBuffered <= max + 1, `buffered ${maxBuffered} with a limit of ${max}`);
          if (bad < 0) {
            assert.equal(error, undefined);
            assert.deepEqual(messages, decodedLines(lines.map(({ line }) => line)));
            return;
          }
          assert.deepEqual(messages, decodedLines(lines.slice(0, bad).map(({ line }) => line)));
          assert.ok(isCode(error, "ELINETOOLONG"), String(error));
          assert.equal((error as SocketError).message, `Cannot decode line: longer than ${max} bytes`);
          // The error comes with the first chunk that proves the line too long:
          // max + 1 bytes, or max + 2 when byte max + 1 is a \r that may start a \r\n.
          const start = concat(encoded.slice(0, bad)).length;
          const proof = start + max + (bytes[start + max] === CR ? 2 : 1);
          assert.equal(pushedAtError, firstReaching(chunks, proof));
          assert.throws(() => decoder.next(), { code: "ELINETOOLONG" });
        },
      ),
      RUNS,
    );
  });

  test("nextLines() returns what next() does, a batch at a time, and fails where it does", () => {
    // Sometimes the first line of each batch is taken with next() first, as
    // the line server's answerer takes it.
    // Lines of ASCII alone (with or without \r) take the batch's fast path.
    const asciiLineArb = fc.string({ unit: fc.constantFrom("a", "b", " ", "\r"), maxLength: 24 });
    // Every line next() gives until it needs more bytes, how that ended, and
    // what is left buffered then.
    const one = (decoder: LineDecoder) => {
      const lines: string[] = [];
      try {
        for (let line = decoder.next(); line !== undefined; line = decoder.next()) lines.push(line);
      } catch (err) {
        return { lines, code: (err as SocketError).code, buffered: decoder.buffered };
      }
      return { lines, code: undefined, buffered: decoder.buffered };
    };
    // The same from one nextLines() call (after one next() call when
    // `firstAlone`): what is left buffered right after it, and the failure it
    // leaves for the next call.
    const batch = (decoder: LineDecoder, firstAlone: boolean) => {
      const lines: string[] = [];
      try {
        const first = firstAlone ? decoder.next() : undefined;
        if (first !== undefined) lines.push(first);
        lines.push(...decoder.nextLines());
      } catch (err) {
        return { lines, code: (err as SocketError).code, buffered: decoder.buffered };
      }
      const buffered = decoder.buffered;
      try {
        assert.deepEqual(decoder.nextLines(), []);
      } catch (err) {
        return { lines, code: (err as SocketError).code, buffered };
      }
      return { lines, code: undefined, buffered };
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(lineArb, asciiLineArb), fc.boolean()), { maxLength: 12 }),
        fc.integer({ min: 1, max: 60 }),
        cuttingArb,
        fc.boolean(),
        (pairs, max, cutting, firstAlone) => {
          const text = pairs.map(([line, crlf]) => line + (crlf || line.endsWith("\r") ? "\r\n" : "\n")).join("");
          const single = new LineDecoder({ maxLineBytes: max });
          const batched = new LineDecoder({ maxLineBytes: max });
          for (const chunk of split(utf8.encode(text), cutting)) {
            single.push(chunk);
            batched.push(chunk);
            const expected = one(single);
            assert.deepEqual(batch(batched, firstAlone), expected);
            if (expected.code !== undefined) return;
          }
        },
      ),
      {
        ...RUNS,
        examples: [
          [[["ab", false], ["b a", false], ["", false]], 60, { cuts: [] }, false],
          [[["ab", false], ["a long line", false], ["b", false]], 4, { cuts: [] }, false],
          // A batch, then the start of a line already over the limit.
          [[["a", false], ["b", false], ["xxxxxx", false]], 4, { cuts: [10] }, false],
          // The rest of an ASCII batch after its first line.
          [[["ab", false], ["b a", false], ["c", false]], 60, { cuts: [] }, true],
          [[["a", false], ["b", false], ["xxxxxx", false]], 4, { cuts: [6] }, true],
        ],
      },
    );
  });

  test("a line of exactly maxLineBytes bytes passes, one byte more fails", () => {
    const contentByte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== LF && b !== CR);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        contentByte,
        fc.boolean(),
        cuttingArb,
        (max, fill, crlf, cutting) => {
          const terminator = crlf ? [CR, LF] : [LF];
          const exact = new Uint8Array(max).fill(fill);
          const ok = new LineDecoder({ maxLineBytes: max });
          const passed = drain(ok, split(Uint8Array.from([...exact, ...terminator]), cutting));
          assert.equal(passed.error, undefined);
          assert.deepEqual(passed.messages, [new TextDecoder().decode(exact)]);

          const over = new LineDecoder({ maxLineBytes: max });
          const failed = drain(over, split(Uint8Array.from([...exact, fill, ...terminator]), cutting));
          assert.deepEqual(failed.messages, []);
          assert.ok(isCode(failed.error, "ELINETOOLONG"), String(failed.error));
        },
      ),
      RUNS,
    );
  });

  test("a partial line is held in its length and a \\r\\n, however it was cut", () => {
    const contentByte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== LF);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.nat(),
        contentByte,
        cuttingArb,
        (max, length, fill, cutting) => {
          const line = new Uint8Array(length % (max + 1)).fill(fill);
          const decoder = new LineDecoder({ maxLineBytes: max });
          const { messages, error } = drain(decoder, split(line, cutting));
          assert.equal(error, undefined);
          assert.deepEqual(messages, []);
          // take() of everything is a view of the buffer the decoder held (or of the chunk it adopted).
          const held = decoder.take();
          assert.deepEqual(held, line);
          assert.ok(held.buffer.byteLength <= max + 2, `${held.buffer.byteLength} bytes held for ${line.length}`);
        },
      ),
      RUNS,
    );
  });

  test("random bytes give lines or ELINETOOLONG, nothing else", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400, size: "medium" }),
        fc.integer({ min: 1, max: 64 }),
        cuttingArb,
        (bytes, max, cutting) => {
          const decoder = new LineDecoder({ maxLineBytes: max });
          const { messages, error } = drain(decoder, split(bytes, cutting));
          for (const line of messages) assert.equal(typeof line, "string");
          let end: unknown;
          try {
            end = decoder.end();
          } catch (err) {
            end = err;
          }
          if (error !== undefined) assert.ok(isCode(error, "ELINETOOLONG"), String(error));
          if (typeof end !== "string" && end !== undefined) assert.ok(isCode(end, "ELINETOOLONG"), String(end));
        },
      ),
      RUNS,
    );
  });
});

const prefixArb = fc.constantFrom(1 as const, 2 as const, 4 as const);

describe("FrameDecoder properties", () => {
  test("any frames, cut anywhere, come back exactly, for each prefix size", () => {
    fc.assert(
      fc.property(
        prefixArb,
        fc.array(fc.uint8Array({ maxLength: 255, size: "medium" }), { maxLength: 40, size: "medium" }),
        cuttingArb,
        (prefixBytes, payloads, cutting) => {
          const bytes = concat(payloads.map((payload) => encodeFrame(payload, { prefixBytes })));
          const decoder = new FrameDecoder({ prefixBytes });
          const { messages, error } = drain(decoder, split(bytes, cutting));
          assert.equal(error, undefined);
          // Compared only now, after every push: no frame may change under its caller.
          assert.deepEqual(messages, payloads);
          assert.equal(decoder.buffered, 0);
        },
      ),
      RUNS,
    );
  });

  test("maxFrameBytes: frames up to the limit pass, a longer one fails once its prefix is in", () => {
    fc.assert(
      fc.property(
        prefixArb,
        fc.array(fc.uint8Array({ maxLength: 60 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 50 }),
        cuttingArb,
        (prefixBytes, payloads, max, cutting) => {
          // Encoded with the widest limit: the decoder's own limit is under test.
          const encoded = payloads.map((payload) => encodeFrame(payload, { prefixBytes }));
          const bytes = concat(encoded);
          const bad = payloads.findIndex((payload) => payload.length > max);
          const decoder = new FrameDecoder({ prefixBytes, maxFrameBytes: max });
          const chunks = split(bytes, cutting);
          const { messages, error, pushedAtError, maxBuffered } = drain(decoder, chunks);
          assert.ok(maxBuffered < prefixBytes + max, `buffered ${maxBuffered} with a limit of ${max}`);
          if (bad < 0) {
            assert.equal(error, undefined);
            assert.deepEqual(messages, payloads);
            return;
          }
          assert.deepEqual(messages, payloads.slice(0, bad));
          assert.ok(isCode(error, "EFRAMETOOLONG"), String(error));
          assert.equal(
            (error as SocketError).message,
            `Cannot decode frame: ${payloads[bad].length} bytes is over the limit of ${max}`,
          );
          // The error comes with the chunk that completes the prefix, before any payload is needed.
          const prefixEnd = concat(encoded.slice(0, bad)).length + prefixBytes;
          assert.equal(pushedAtError, firstReaching(chunks, prefixEnd));
          assert.equal(decoder.buffered, 0);
          assert.throws(() => decoder.next(), { code: "EFRAMETOOLONG" });
        },
      ),
      RUNS,
    );
  });

  test("a frame of exactly maxFrameBytes bytes passes, one byte more fails, in both directions", () => {
    fc.assert(
      fc.property(
        prefixArb,
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        cuttingArb,
        (prefixBytes, max, fill, cutting) => {
          const options = { prefixBytes, maxFrameBytes: max };
          const exact = new Uint8Array(max).fill(fill);
          const passed = drain(new FrameDecoder(options), split(encodeFrame(exact, options), cutting));
          assert.equal(passed.error, undefined);
          assert.deepEqual(passed.messages, [exact]);

          const over = new Uint8Array(max + 1).fill(fill);
          assert.throws(() => encodeFrame(over, options), { code: "EFRAMETOOLONG" });
          // A 1-byte prefix cannot even declare 256 bytes.
          if (max + 1 >= 2 ** (8 * prefixBytes)) return;
          const failed = drain(new FrameDecoder(options), split(encodeFrame(over, { prefixBytes }), cutting));
          assert.deepEqual(failed.messages, []);
          assert.ok(isCode(failed.error, "EFRAMETOOLONG"), String(failed.error));
        },
      ),
      RUNS,
    );
  });

  test("random bytes give frames or EFRAMETOOLONG, nothing else", () => {
    fc.assert(
      fc.property(
        prefixArb,
        fc.uint8Array({ maxLength: 400, size: "medium" }),
        fc.integer({ min: 1, max: 255 }),
        cuttingArb,
        (prefixBytes, bytes, max, cutting) => {
          const decoder = new FrameDecoder({ prefixBytes, maxFrameBytes: max });
          const { messages, error } = drain(decoder, split(bytes, cutting));
          for (const frame of messages) assert.ok(frame instanceof Uint8Array && frame.length <= max);
          if (error !== undefined) assert.ok(isCode(error, "EFRAMETOOLONG"), String(error));
          // Whatever was not decoded is still there, in order.
          const taken = decoder.take();
          if (error === undefined) {
            const consumed = messages.reduce((sum, frame) => sum + prefixBytes + frame.length, 0);
            assert.deepEqual(taken, bytes.subarray(consumed));
          }
        },
      ),
      RUNS,
    );
  });
});
