/**
 * UDP through `node:dgram`, behind the runtime contract. Deno's adapter
 * falls back to `bindDatagram` from here (Deno's `node:dgram`) when
 * `Deno.listenDatagram` is missing, without `--unstable-net`: so this file
 * touches `node:*` modules only.
 *
 * @module
 */

import * as dgram from "node:dgram";
import { ipFamily } from "../../addr.ts";
import type { AddrOptions, NetAddr, RawDatagramSocket } from "../contract.ts";
import { formatAddress, SocketError } from "../../socket_error.ts";

// Datagrams kept until start() is called; more are dropped, as the kernel
// drops what nobody reads.
const MAX_EARLY = 1024;

type OnDatagram = (data: Uint8Array, remote: NetAddr) => void;

function closedError(to: AddrOptions): SocketError {
  return new SocketError("ECLOSED", `Cannot send to ${formatAddress(to)}: socket is closed`);
}

// A plain Uint8Array, that pins no more memory than it holds: Deno's
// `node:dgram` hands out each datagram in a 64 KiB buffer of its own.
function ownedBytes(msg: Uint8Array): Uint8Array {
  if (msg.buffer.byteLength > 2 * msg.byteLength && msg.buffer.byteLength > 4096) return new Uint8Array(msg);
  return new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
}

class NodeDatagramSocket implements RawDatagramSocket {
  readonly addr: NetAddr;
  #socket: dgram.Socket;
  #onDatagram: OnDatagram | undefined = undefined;
  #early: [Uint8Array, NetAddr][] | undefined = [];
  #closed = false;
  // Sends not yet called back: Node never calls them back once the socket
  // is closed (each waits a tick for its address), so close() rejects them.
  #sending = new Set<() => void>();

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    const bound = socket.address();
    this.addr = { transport: "udp", hostname: bound.address, port: bound.port };
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      if (this.#closed) return;
      const data = ownedBytes(msg);
      const remote: NetAddr = { transport: "udp", hostname: rinfo.address, port: rinfo.port };
      if (this.#onDatagram !== undefined) this.#onDatagram(data, remote);
      else if (this.#early!.length < MAX_EARLY) this.#early!.push([data, remote]);
    });
    // Sends report their errors to their callbacks; whatever else Node emits
    // (nothing a peer does should) must not become an uncaught exception.
    socket.on("error", () => {});
  }

  start(onDatagram: OnDatagram): void {
    const early = this.#early ?? [];
    this.#early = undefined;
    this.#onDatagram = onDatagram;
    for (const [data, remote] of early) {
      if (this.#closed) return;
      onDatagram(data, remote);
    }
  }

  send(data: Uint8Array, to: AddrOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError(to));
    return new Promise((resolve, reject) => {
      const cancel = () => reject(closedError(to));
      this.#sending.add(cancel);
      try {
        // Called back once libuv has handed the datagram to the kernel,
        // which takes it whole or fails (EMSGSIZE) without truncating.
        this.#socket.send(data, to.port, to.hostname, (err: Error | null) => {
          this.#sending.delete(cancel);
          if (err == null) resolve();
          else reject(this.#closed ? closedError(to) : err);
        });
      } catch (err) {
        this.#sending.delete(cancel);
        reject(err);
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#early = undefined;
    for (const cancel of this.#sending) cancel();
    this.#sending.clear();
    this.#socket.close();
  }
}

/**
 * Binds a UDP socket to an IP literal through `node:dgram`. Rejects with
 * the runtime's error (`EADDRINUSE`, say).
 *
 * @example Sending a datagram to oneself
 * ```ts ignore
 * import { bindDatagram } from "./udp.ts";
 *
 * const socket = await bindDatagram({ hostname: "127.0.0.1", port: 0 });
 * socket.start((data) => console.log(data)); // Uint8Array(2) [ 104, 105 ]
 * await socket.send(new TextEncoder().encode("hi"), socket.addr);
 * socket.close();
 * ```
 */
export function bindDatagram(options: AddrOptions): Promise<RawDatagramSocket> {
  return new Promise((resolve, reject) => {
    let socket: dgram.Socket;
    try {
      socket = dgram.createSocket({ type: ipFamily(options.hostname) === 6 ? "udp6" : "udp4" });
    } catch (err) {
      reject(err);
      return;
    }
    const onError = (err: Error) => {
      try {
        socket.close();
      } catch {
        // A socket that failed to bind may already count as closed.
      }
      reject(err);
    };
    socket.once("error", onError);
    socket.bind({ address: options.hostname, port: options.port, exclusive: true }, () => {
      socket.off("error", onError);
      resolve(new NodeDatagramSocket(socket));
    });
  });
}
