/**
 * Checks shared by every entry point that takes an address, a signal or
 * connection options.
 *
 * @module
 */

import { type FrameOptions, frameOptionsProblem } from "./protocol/frame_decoder.ts";
import { lineLimitProblem } from "./protocol/line_decoder.ts";
import { formatAddress, SocketError } from "./socket_error.ts";

/**
 * Throws `EINVAL` unless `port` is an integer in 0..65535. `action` and the
 * hostname name the call in the message.
 */
export function checkAddress(action: string, options: { hostname: string; port: number }): void {
  const { hostname, port } = options;
  if (typeof hostname !== "string" || hostname === "") {
    throw new SocketError("EINVAL", `Cannot ${action} ${formatAddress(options)}: hostname must be a non-empty string`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SocketError(
      "EINVAL",
      `Cannot ${action} ${formatAddress(options)}: port must be an integer from 0 to 65535`,
    );
  }
}

/** Throws `EABORTED` if `signal` has already fired. */
export function checkSignal(signal: AbortSignal | undefined, action: string, address: string): void {
  if (signal?.aborted) throw new SocketError("EABORTED", `Cannot ${action} ${address}: aborted`);
}

/**
 * Throws `EINVAL` for line or frame limits a connection could not use, so
 * that `connect()` and `listen()` fail before opening a socket, not after.
 */
export function checkConnOptions(
  action: string,
  address: string,
  options: { maxLineBytes?: number; frames?: FrameOptions },
): void {
  const problem = (options.maxLineBytes === undefined ? undefined : lineLimitProblem(options.maxLineBytes)) ??
    frameOptionsProblem(options.frames ?? {});
  if (problem !== undefined) throw new SocketError("EINVAL", `Cannot ${action} ${address}: ${problem}`);
}

/** Throws `EINVAL` unless `path` can name a Unix socket; returns it, for messages. */
export function checkPath(action: string, path: unknown): string {
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new SocketError("EINVAL", `Cannot ${action} ${String(path)}: path must be a non-empty string`);
  }
  return path;
}
