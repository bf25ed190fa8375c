/**
 * Length-prefixed framing, the sending side: a payload in, one frame out.
 *
 * @module
 */

import { DEFAULT_MAX_FRAME_BYTES, type FrameOptions, frameOptionsProblem } from "./frame_decoder.ts";
import { SocketError } from "../socket_error.ts";

/**
 * Frames `payload` for a `FrameDecoder` with the same options: a
 * big-endian length prefix followed by a copy of the payload, as one array so
 * it goes out in one write.
 *
 * Throws `EFRAMETOOLONG` for a payload over `maxFrameBytes`, which is at most
 * what the prefix can express, and `EINVAL` for bad options.
 *
 * @example Framing a message with a 2-byte prefix
 * ```ts
 * import { encodeFrame } from "./frame_encoder.ts";
 * import assert from "node:assert/strict";
 *
 * const frame = encodeFrame(new TextEncoder().encode("hi"), { prefixBytes: 2 });
 * assert.deepEqual(frame, Uint8Array.of(0, 2, 0x68, 0x69));
 * assert.throws(() => encodeFrame(new Uint8Array(256), { prefixBytes: 1 }), {
 *   code: "EFRAMETOOLONG",
 *   message: "Cannot encode frame: 256 bytes is over the limit of 255",
 * });
 * ```
 */
export function encodeFrame(payload: Uint8Array, options: FrameOptions = {}): Uint8Array {
  // The same rules as FrameDecoder, so both ends agree on what is too long.
  const problem = frameOptionsProblem(options);
  if (problem !== undefined) throw new SocketError("EINVAL", `Cannot encode frame: ${problem}`);
  const prefix = options.prefixBytes ?? 4;
  const max = options.maxFrameBytes ?? Math.min(DEFAULT_MAX_FRAME_BYTES, 2 ** (8 * prefix) - 1);
  const length = payload.byteLength;
  if (length > max) {
    throw new SocketError("EFRAMETOOLONG", `Cannot encode frame: ${length} bytes is over the limit of ${max}`, {
      limit: max,
    });
  }
  const frame = new Uint8Array(prefix + length);
  // Storing into a Uint8Array keeps only the low byte of `rest`.
  for (let i = prefix - 1, rest = length; i >= 0; i--, rest >>>= 8) frame[i] = rest;
  frame.set(payload, prefix);
  return frame;
}
