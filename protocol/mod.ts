/**
 * Pure, I/O-free codecs and services: line framing, length-prefixed frames
 * and the textbook's uppercase service. Use them over any transport.
 *
 * ```ts
 * import { encodeFrame, FrameDecoder, LineDecoder } from "./mod.ts";
 *
 * const lines = new LineDecoder();
 * console.log(lines.decode(new TextEncoder().encode("one\r\ntw"))); // ["one"]
 *
 * const frames = new FrameDecoder({ prefixBytes: 2 });
 * console.log(frames.decode(encodeFrame(new Uint8Array([1, 2]), { prefixBytes: 2 }))); // [Uint8Array [1, 2]]
 * ```
 *
 * @module
 */

export * from "./line_decoder.ts";
export * from "./frame_decoder.ts";
export * from "./frame_encoder.ts";
export * from "./uppercase.ts";
