/**
 * Unix domain sockets on Deno: `Deno.listen` and `Deno.connect` with
 * `transport: "unix"`, stable since Deno 2 (no `--unstable-net`), which ask
 * for `--allow-read`, `--allow-write` and `--allow-net` (or
 * `--allow-net=unix:<path>`). Deno removes a listener's socket file itself
 * when it releases the socket.
 *
 * @module
 */

import type { ListenerEvents, RawListener } from "../contract.ts";
import { SocketError } from "../../socket_error.ts";
import { DenoListener } from "./listener.ts";
import { DenoConn } from "./conn.ts";

function reportUnix(conn: Deno.UnixConn, events: ListenerEvents): void {
  events.conn(new DenoConn(conn));
}

/**
 * Listens on a Unix socket's path; rejects with Deno's error (`AddrInUse`
 * when anything is there already, `NotFound` for a missing directory).
 *
 * @example Listening on a path
 * ```ts ignore
 * import { listenUnix } from "./unix.ts";
 *
 * const listener = listenUnix(`${Deno.makeTempDirSync()}/s.sock`);
 * await listener.close();
 * ```
 */
export function listenUnix(path: string): RawListener {
  return new DenoListener(Deno.listen({ transport: "unix", path }), reportUnix);
}

/**
 * Connects to a Unix socket's path; rejects with Deno's error (`NotFound`
 * for a missing file, `ConnectionRefused` for a file nobody listens on).
 * Deno takes no signal here: an aborted attempt rejects at once, and its
 * socket is closed once Deno settles it (at once, for a local socket).
 *
 * @example Connecting to a path
 * ```ts ignore
 * import { connectUnix, listenUnix } from "./unix.ts";
 *
 * const path = `${Deno.makeTempDirSync()}/s.sock`;
 * const listener = listenUnix(path);
 * (await connectUnix(path)).close();
 * await listener.close();
 * ```
 */
export function connectUnix(path: string, signal?: AbortSignal): Promise<Deno.UnixConn> {
  signal?.throwIfAborted();
  const connecting = Deno.connect({ transport: "unix", path });
  return signal === undefined ? connecting : abandonable(connecting, signal);
}

/**
 * Settles as `connecting`, or rejects with `signal.reason` once it fires,
 * closing whatever `connecting` then resolves with.
 *
 * @example Giving up a connection attempt
 * ```ts ignore
 * import { abandonable } from "./unix.ts";
 *
 * const controller = new AbortController();
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const attempt = abandonable(Deno.connect(listener.addr), controller.signal);
 * controller.abort();
 * await attempt.catch(() => {});
 * listener.close();
 * ```
 */
export function abandonable<C extends Deno.Conn>(connecting: Promise<C>, signal: AbortSignal): Promise<C> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      connecting.then((conn) => conn.close(), () => {});
    };
    signal.addEventListener("abort", onAbort, { once: true });
    connecting.then((conn) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) conn.close();
      else resolve(conn);
    }, (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
  });
}

/**
 * Removes `path` if it is a Unix socket file: `true` if it was, `false` if
 * nothing is there; rejects with `EADDRINUSE` for a file of another kind,
 * never removed, and with Deno's error otherwise (`NotCapable`, say).
 *
 * @example Clearing a stale socket file
 * ```ts ignore
 * import { removeSocketFile } from "./unix.ts";
 *
 * const removed = await removeSocketFile(`${Deno.makeTempDirSync()}/s.sock`);
 * if (removed) throw new Error("unexpected");
 * ```
 */
export async function removeSocketFile(path: string): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  if (!info.isSocket) {
    throw new SocketError("EADDRINUSE", `Cannot listen on ${path}: address already in use (not a socket file)`);
  }
  try {
    await Deno.remove(path);
  } catch (err) {
    // Removed meanwhile, by whoever else found it stale.
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  return true;
}
