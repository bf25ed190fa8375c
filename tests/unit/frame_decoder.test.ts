// The frame codec is pure: these tests feed it bytes, no sockets.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FrameDecoder } from "../../protocol/frame_decoder.ts";
import { encodeFrame } from "../../protocol/frame_encoder.ts";
import { SocketError } from "../../socket_error.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);

function tooLong(message: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof SocketError);
    assert.equal(err.code, "EFRAMETOOLONG");
    assert.equal(err.message, message);
    return true;
  };
}

describe("FrameDecoder", () => {
  test("many frames in one chunk, with a 4-byte prefix by default", () => {
    const decoder = new FrameDecoder();
    const frames = decoder.decode(bytes(0, 0, 0, 2, 10, 11, 0, 0, 0, 0, 0, 0, 0, 1, 12, 0, 0));
    assert.deepEqual(frames, [bytes(10, 11), bytes(), bytes(12)]);
    assert.equal(decoder.buffered, 2);
    assert.equal(decoder.prefixBytes, 4);
    assert.equal(decoder.maxFrameBytes, 16 * 1024 * 1024);
  });

  test("a stream split at every possible point gives the same frames", () => {
    const stream = bytes(0, 3, 1, 2, 3, 0, 0, 0, 1, 4, 1, 0, ...new Array<number>(256).fill(7));
    const expected = [bytes(1, 2, 3), bytes(), bytes(4), new Uint8Array(256).fill(7)];
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j += 7) {
        const decoder = new FrameDecoder({ prefixBytes: 2 });
        const frames = [
          ...decoder.decode(stream.subarray(0, i)),
          ...decoder.decode(stream.subarray(i, j)),
          ...decoder.decode(stream.subarray(j)),
        ];
        assert.deepEqual(frames, expected, `split at ${i} and ${j}`);
        assert.equal(decoder.buffered, 0);
      }
    }
  });

  test("a frame fed one byte at a time", () => {
    const decoder = new FrameDecoder();
    const frames: Uint8Array[] = [];
    for (const byte of bytes(0, 0, 0, 3, 0xe2, 0x82, 0xac, 0, 0, 0, 0)) frames.push(...decoder.decode(bytes(byte)));
    assert.deepEqual(frames, [bytes(0xe2, 0x82, 0xac), bytes()]);
  });

  test("1-, 2- and 4-byte prefixes are big-endian", () => {
    const payload = new Uint8Array(300).map((_, i) => i);
    assert.deepEqual(new FrameDecoder({ prefixBytes: 1 }).decode(bytes(2, 8, 9)), [bytes(8, 9)]);
    assert.deepEqual(new FrameDecoder({ prefixBytes: 2 }).decode(bytes(1, 44, ...payload)), [payload]);
    assert.deepEqual(new FrameDecoder({ prefixBytes: 4 }).decode(bytes(0, 0, 1, 44, ...payload)), [payload]);
  });

  test("next() says 'need more bytes' with undefined, never an error", () => {
    const decoder = new FrameDecoder({ prefixBytes: 2 });
    decoder.push(bytes(0));
    assert.equal(decoder.next(), undefined);
    decoder.push(bytes(2, 5));
    assert.equal(decoder.next(), undefined);
    assert.equal(decoder.buffered, 3);
    decoder.push(bytes(6));
    assert.deepEqual(decoder.next(), bytes(5, 6));
    assert.equal(decoder.next(), undefined);
    assert.equal(decoder.buffered, 0);
  });

  test("frames stay the caller's: later pushes never change them", () => {
    const decoder = new FrameDecoder({ prefixBytes: 1 });
    decoder.push(bytes(2, 1));
    decoder.push(bytes(2, 3, 3));
    const first = decoder.next();
    // Enough to make the decoder compact its buffer over where `first` was.
    decoder.push(new Uint8Array(1020).fill(9));
    assert.deepEqual(first, bytes(1, 2));
    assert.deepEqual(decoder.next(), bytes(3, 9, 9));
  });

  test("a chunk pushed while nothing is buffered is used without a copy", () => {
    const chunk = bytes(1, 5, 1, 6, 0);
    const frames = new FrameDecoder({ prefixBytes: 1 }).decode(chunk);
    assert.deepEqual(frames, [bytes(5), bytes(6), bytes()]);
    assert.equal(frames[0].buffer, chunk.buffer);
    assert.deepEqual(chunk, bytes(1, 5, 1, 6, 0));
  });

  test("a long frame in many small chunks", () => {
    const decoder = new FrameDecoder();
    const payload = new Uint8Array(100_000).map((_, i) => i % 251);
    const stream = encodeFrame(payload);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += 1000) frames.push(...decoder.decode(stream.subarray(i, i + 1000)));
    assert.deepEqual(frames, [payload]);
  });

  test("a frame of exactly maxFrameBytes passes; one byte more fails from its prefix alone", () => {
    const decoder = new FrameDecoder({ prefixBytes: 2, maxFrameBytes: 1000 });
    assert.deepEqual(decoder.decode(bytes(3, 232, ...new Array<number>(1000).fill(1))), [
      new Uint8Array(1000).fill(1),
    ]);
    // Only the prefix of the 1001-byte frame: it fails before its payload arrives.
    assert.throws(
      () => decoder.decode(bytes(3, 233)),
      tooLong("Cannot decode frame: 1001 bytes is over the limit of 1000"),
    );
    assert.equal(decoder.buffered, 0);
    // The stream is out of sync: the decoder keeps failing, and drops what it gets.
    decoder.push(bytes(0, 0));
    assert.equal(decoder.buffered, 0);
    assert.throws(() => decoder.next(), { code: "EFRAMETOOLONG" });
    assert.throws(() => decoder.decode(), { code: "EFRAMETOOLONG" });
  });

  test("push() never throws: an oversized prefix is dropped and reported by next()", () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 10 });
    decoder.push(bytes(0, 0));
    decoder.push(bytes(0, 11, 1, 2, 3));
    assert.equal(decoder.buffered, 0);
    assert.throws(() => decoder.next(), tooLong("Cannot decode frame: 11 bytes is over the limit of 10"));
  });

  test("an oversized frame after good ones fails only once the good ones are out", () => {
    const decoder = new FrameDecoder({ prefixBytes: 1, maxFrameBytes: 3 });
    decoder.push(bytes(3, 1, 2, 3, 4, 0));
    assert.deepEqual(decoder.next(), bytes(1, 2, 3));
    assert.throws(() => decoder.next(), tooLong("Cannot decode frame: 4 bytes is over the limit of 3"));
  });

  test("a declared length of 2 GiB and up is read as unsigned", () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 2 ** 32 - 1 });
    decoder.push(bytes(0xff, 0xff, 0xff, 0xff));
    assert.equal(decoder.next(), undefined);
    assert.throws(
      () => new FrameDecoder().decode(bytes(0x80, 0, 0, 0)),
      tooLong("Cannot decode frame: 2147483648 bytes is over the limit of 16777216"),
    );
  });

  test("the default limit is what a short prefix can express", () => {
    assert.equal(new FrameDecoder({ prefixBytes: 1 }).maxFrameBytes, 255);
    assert.equal(new FrameDecoder({ prefixBytes: 2 }).maxFrameBytes, 65535);
    assert.deepEqual(new FrameDecoder({ prefixBytes: 1 }).decode(bytes(255, ...new Array<number>(255).fill(3))), [
      new Uint8Array(255).fill(3),
    ]);
  });

  test("take() hands back raw bytes in order, prefixes included", () => {
    const decoder = new FrameDecoder({ prefixBytes: 1 });
    decoder.push(bytes(1, 9, 2, 5));
    decoder.push(bytes(6, 7));
    assert.deepEqual(decoder.next(), bytes(9));
    assert.deepEqual(decoder.take(2), bytes(2, 5));
    decoder.push(bytes(8));
    assert.deepEqual(decoder.take(), bytes(6, 7, 8));
    assert.equal(decoder.buffered, 0);
    assert.deepEqual(decoder.take(), bytes());
  });

  test("bad options are EINVAL", () => {
    assert.throws(() => new FrameDecoder({ maxFrameBytes: 0 }), { code: "EINVAL" });
    assert.throws(() => new FrameDecoder({ maxFrameBytes: 1.5 }), { code: "EINVAL" });
    assert.throws(() => new FrameDecoder({ prefixBytes: 1, maxFrameBytes: 256 }), {
      code: "EINVAL",
      message:
        "Cannot make a frame decoder: maxFrameBytes must be an integer from 1 to 255 for a 1-byte prefix, got 256",
    });
    assert.throws(() => new FrameDecoder({ prefixBytes: 2, maxFrameBytes: 65536 }), { code: "EINVAL" });
    assert.throws(() => new FrameDecoder({ maxFrameBytes: 2 ** 32 }), { code: "EINVAL" });
    // A JavaScript caller is not held to the type.
    assert.throws(() => new FrameDecoder({ prefixBytes: 3 as 4 }), {
      code: "EINVAL",
      message: "Cannot make a frame decoder: prefixBytes must be 1, 2 or 4, got 3",
    });
  });
});

describe("encodeFrame", () => {
  test("writes a big-endian prefix and the payload", () => {
    assert.deepEqual(encodeFrame(bytes(7, 8)), bytes(0, 0, 0, 2, 7, 8));
    assert.deepEqual(encodeFrame(bytes(), { prefixBytes: 1 }), bytes(0));
    assert.deepEqual(encodeFrame(new Uint8Array(258), { prefixBytes: 2 }).subarray(0, 3), bytes(1, 2, 0));
    assert.deepEqual(encodeFrame(new Uint8Array(0x010203)).subarray(0, 4), bytes(0, 1, 2, 3));
  });

  test("copies the payload", () => {
    const payload = bytes(1, 2, 3);
    const frame = encodeFrame(payload, { prefixBytes: 1 });
    payload[0] = 9;
    assert.deepEqual(frame, bytes(3, 1, 2, 3));
  });

  test("a payload over maxFrameBytes or over what the prefix can express is EFRAMETOOLONG", () => {
    assert.deepEqual(encodeFrame(new Uint8Array(4), { maxFrameBytes: 4 }).length, 8);
    assert.throws(
      () => encodeFrame(new Uint8Array(5), { maxFrameBytes: 4 }),
      tooLong("Cannot encode frame: 5 bytes is over the limit of 4"),
    );
    assert.equal(encodeFrame(new Uint8Array(255), { prefixBytes: 1 }).length, 256);
    assert.throws(
      () => encodeFrame(new Uint8Array(256), { prefixBytes: 1 }),
      tooLong("Cannot encode frame: 256 bytes is over the limit of 255"),
    );
    assert.throws(
      () => encodeFrame(new Uint8Array(65536), { prefixBytes: 2 }),
      tooLong("Cannot encode frame: 65536 bytes is over the limit of 65535"),
    );
  });

  test("bad options are EINVAL", () => {
    assert.throws(() => encodeFrame(bytes(), { prefixBytes: 2, maxFrameBytes: 65536 }), {
      code: "EINVAL",
      message: "Cannot encode frame: maxFrameBytes must be an integer from 1 to 65535 for a 2-byte prefix, got 65536",
    });
    assert.throws(() => encodeFrame(bytes(), { prefixBytes: 8 as 4 }), { code: "EINVAL" });
  });

  test("what encodeFrame writes, FrameDecoder reads", () => {
    for (const prefixBytes of [1, 2, 4] as const) {
      const payloads = [bytes(), bytes(1), new Uint8Array(255).fill(2)];
      const stream = Uint8Array.from(payloads.flatMap((p) => [...encodeFrame(p, { prefixBytes })]));
      assert.deepEqual(new FrameDecoder({ prefixBytes }).decode(stream), payloads);
    }
  });
});
