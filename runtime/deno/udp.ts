/**
 * UDP on Deno: `Deno.listenDatagram` where it exists, which is only under
 * `--unstable-net`; otherwise Deno's `node:dgram`, through the Node adapter's
 * `bindDatagram`, so that `--allow-net` alone is enough.
 *
 * @module
 */

import type { AddrOptions, NetAddr, RawDatagramSocket } from "../contract.ts";

// The slice of Deno's unstable UDP API used here: it is typed only under
// `--unstable-net`, and this file must type-check without it.
interface DatagramConn {
  readonly addr: Deno.Addr;
  /** Receives one datagram into `buffer`, silently cut to fit. */
  receive(buffer?: Uint8Array): Promise<[Uint8Array, Deno.Addr]>;
  /** Sends the whole datagram or rejects (EMSGSIZE): never a part of it. */
  send(data: Uint8Array, addr: Deno.NetAddr): Promise<number>;
  close(): void;
}

type ListenDatagram = (options: { hostname: string; port: number; transport: "udp" }) => DatagramConn;

// Large enough for any UDP payload (65,527 bytes over IPv6): a smaller
// buffer would truncate without a word.
const DATAGRAM_BUFFER = 64 * 1024;

function udpAddr(addr: Deno.Addr): NetAddr {
  const { hostname, port } = addr as Deno.NetAddr;
  return { transport: "udp", hostname, port };
}

// Where the OS reports an ICMP error for an earlier send on the next
// receive (Windows does), it is no fault of this socket's.
function icmpError(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.ConnectionRefused;
}

class NativeDatagramSocket implements RawDatagramSocket {
  readonly addr: NetAddr;
  #conn: DatagramConn;
  #closed = false;

  constructor(conn: DatagramConn) {
    this.#conn = conn;
    this.addr = udpAddr(conn.addr);
  }

  start(onDatagram: (data: Uint8Array, remote: NetAddr) => void): void {
    this.#receiveLoop(onDatagram);
  }

  // One buffer per socket, reused, and each datagram copied out of it: a
  // fresh 64 KiB per datagram costs more than the receive.
  async #receiveLoop(onDatagram: (data: Uint8Array, remote: NetAddr) => void): Promise<void> {
    const buffer = new Uint8Array(DATAGRAM_BUFFER);
    while (!this.#closed) {
      let data: Uint8Array;
      let remote: Deno.Addr;
      try {
        [data, remote] = await this.#conn.receive(buffer);
      } catch (err) {
        if (icmpError(err)) continue;
        // Closing rejects the pending receive. Any other failure has no event
        // to go to in the contract: receiving stops.
        return;
      }
      if (this.#closed) return;
      onDatagram(data.slice(), udpAddr(remote));
    }
  }

  async send(data: Uint8Array, to: AddrOptions): Promise<void> {
    // After close(), Deno rejects with BadResource (ECLOSED).
    await this.#conn.send(data, { transport: "udp", hostname: to.hostname, port: to.port });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already released by Deno: there is nothing left to close.
    }
  }
}

// Whether Deno lets this program use the network at `host`, asking the user
// (as a native call would) when `ask` and Deno is set to prompt.
function netAllowed(host: string, ask: boolean): boolean {
  const descriptor = { name: "net", host } as const;
  let { state } = Deno.permissions.querySync(descriptor);
  if (state === "prompt" && ask) state = Deno.permissions.requestSync(descriptor).state;
  return state === "granted";
}

function hostPort(options: AddrOptions): string {
  return options.hostname.includes(":")
    ? `[${options.hostname}]:${options.port}`
    : `${options.hostname}:${options.port}`;
}

function denied(host: string, cause?: unknown): Error {
  return new Deno.errors.NotCapable(`Requires net access to "${host}"`, { cause });
}

/**
 * The Node adapter's socket over Deno's `node:dgram`, which checks net
 * permissions where a denial escapes as an errno-less error on send: turned
 * into Deno's own `NotCapable`, as a native call would reject.
 */
class NodeDatagramSocket implements RawDatagramSocket {
  #inner: RawDatagramSocket;

  constructor(inner: RawDatagramSocket) {
    this.#inner = inner;
  }

  get addr(): NetAddr {
    return this.#inner.addr;
  }

  start(onDatagram: (data: Uint8Array, remote: NetAddr) => void): void {
    this.#inner.start(onDatagram);
  }

  async send(data: Uint8Array, to: AddrOptions): Promise<void> {
    try {
      await this.#inner.send(data, to);
    } catch (err) {
      // Asked only on failure: a query per datagram would cost every send.
      const host = hostPort(to);
      if (!netAllowed(host, false)) throw denied(host, err);
      throw err;
    }
  }

  close(): void {
    this.#inner.close();
  }
}

/**
 * Binds a UDP socket to an IP literal; rejects with Deno's error.
 *
 * @example Binding to a free port
 * ```ts ignore
 * import { bindDatagram } from "./udp.ts";
 *
 * const socket = await bindDatagram({ hostname: "127.0.0.1", port: 0 });
 * if (socket.addr.port === 0) throw new Error("unexpected");
 * socket.close();
 * ```
 */
export async function bindDatagram(options: AddrOptions): Promise<RawDatagramSocket> {
  const listen = (Deno as unknown as { listenDatagram?: ListenDatagram }).listenDatagram;
  if (typeof listen === "function") {
    return new NativeDatagramSocket(listen({ hostname: options.hostname, port: options.port, transport: "udp" }));
  }
  // Deno's node:dgram reports a denied bind as an uncaught exception, not a
  // rejection: the permission is checked (or asked for) first.
  const host = hostPort(options);
  if (!netAllowed(host, true)) throw denied(host);
  // Loaded only now: programs under --unstable-net never need it.
  const node = await import("../node/udp.ts");
  return new NodeDatagramSocket(await node.bindDatagram(options));
}
