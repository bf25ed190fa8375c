/**
 * Unix socket files on Bun, through `node:fs` (Bun has no file API of its
 * own for sockets): removing a stale one, and the listener's own on close.
 *
 * @module
 */

import { lstat, unlink } from "node:fs/promises";
import { SocketError } from "../../socket_error.ts";

/** Which file a path names: its device and inode. */
export interface FileId {
  /** The device. */
  dev: number;
  /** The inode. */
  ino: number;
}

function missing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "ENOENT";
}

/**
 * Removes `path` if it is a Unix socket file: `true` if it was, `false` if
 * nothing is there. A file of any other kind is left, and rejects with
 * `EADDRINUSE`.
 *
 * @example Clearing a socket file left by a server that is gone
 * ```ts ignore
 * import { removeSocketFile } from "./unix.ts";
 *
 * await removeSocketFile("/tmp/app.sock"); // false: there was none
 * ```
 */
export async function removeSocketFile(path: string): Promise<boolean> {
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if (missing(err)) return false;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new SocketError("EADDRINUSE", `Cannot listen on ${path}: address already in use (not a socket file)`);
  }
  try {
    await unlink(path);
  } catch (err) {
    // Removed meanwhile, by whoever else found it stale.
    if (!missing(err)) throw err;
  }
  return true;
}

/** The socket file at `path` (just bound by this process), to know it again on close. */
export async function socketFileId(path: string): Promise<FileId | undefined> {
  try {
    const stat = await lstat(path);
    return { dev: stat.dev, ino: stat.ino };
  } catch {
    return undefined;
  }
}

/**
 * Removes the listener's socket file, unless it is gone or is not the one
 * bound (replaced by another listener's). Bun 1.4 removes it on `stop()`
 * already; that is not documented, so it is not relied on.
 *
 * @example Removing a listener's file
 * ```ts ignore
 * import { removeOwnSocketFile, socketFileId } from "./unix.ts";
 *
 * const id = await socketFileId("/tmp/app.sock");
 * await removeOwnSocketFile("/tmp/app.sock", id);
 * ```
 */
export async function removeOwnSocketFile(path: string, id: FileId | undefined): Promise<void> {
  if (id === undefined) return;
  try {
    const stat = await lstat(path);
    if (stat.isSocket() && stat.dev === id.dev && stat.ino === id.ino) await unlink(path);
  } catch (err) {
    if (!missing(err)) throw err;
  }
}
