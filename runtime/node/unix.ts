/**
 * Unix socket files through `node:fs`, behind the runtime contract. Bun's
 * adapter uses them too: Bun has no file API of its own for sockets.
 *
 * @module
 */

import { lstat, unlink } from "node:fs/promises";
import { SocketError } from "../../socket_error.ts";

/** A socket file as a listener made it: removed on close only while it is still that file. */
export interface SocketFile {
  /** Its path. */
  path: string;
  /** Its device, from `lstat`. */
  dev: number;
  /** Its inode, from `lstat`. */
  ino: number;
}

function isMissing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "ENOENT";
}

/**
 * The socket file just bound at `path`, to know it again on close. Rejects
 * with Node's error if it cannot be read.
 *
 * @example Noting a listener's file
 * ```ts ignore
 * import { socketFileAt } from "./unix.ts";
 *
 * const file = await socketFileAt("/tmp/app.sock");
 * ```
 */
export async function socketFileAt(path: string): Promise<SocketFile> {
  const { dev, ino } = await lstat(path);
  return { path, dev, ino };
}

/**
 * Removes what is left of a listener's socket file, if it is still the
 * file the listener made (not one bound since at the same path). libuv
 * unlinks the path itself when the listener closes, whatever file is there
 * by then (nodejs/node#19729, libuv/libuv#1332), which no option prevents.
 *
 * @example Removing a closed listener's file
 * ```ts ignore
 * import { removeOwnFile } from "./unix.ts";
 *
 * await removeOwnFile({ path: "/tmp/app.sock", dev: 0, ino: 0 });
 * ```
 */
export async function removeOwnFile(file: SocketFile): Promise<void> {
  try {
    const stat = await lstat(file.path);
    if (stat.isSocket() && stat.dev === file.dev && stat.ino === file.ino) await unlink(file.path);
  } catch {
    // Gone already.
  }
}

/**
 * Removes `path` if it is a Unix socket file: `true` if it was, `false` if
 * nothing is there. Rejects with `EADDRINUSE` for a file of another kind,
 * which it leaves alone, and with Node's error otherwise (`EACCES`, say).
 *
 * @example Clearing a stale socket file
 * ```ts ignore
 * import { removeSocketFile } from "./unix.ts";
 *
 * console.log(await removeSocketFile("/tmp/app.sock")); // false: nothing there
 * ```
 */
export async function removeSocketFile(path: string): Promise<boolean> {
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new SocketError("EADDRINUSE", `Cannot remove ${path}: not a socket file`);
  }
  try {
    await unlink(path);
  } catch (err) {
    // Removed meanwhile: the socket file was there.
    if (!isMissing(err)) throw err;
  }
  return true;
}
