// Deno's UDP upper bound (needs --unstable-net): receive, uppercase the ASCII
// bytes in place, send back. Usage: deno_udp.ts PORT (0: any).
interface DatagramConn extends AsyncIterable<[Uint8Array, Deno.Addr]> {
  readonly addr: Deno.NetAddr;
  send(data: Uint8Array, to: Deno.Addr): Promise<number>;
}
type ListenDatagram = (options: { hostname: string; port: number; transport: "udp" }) => DatagramConn;

// Typed here: Deno.listenDatagram is only declared under --unstable-net.
const listenDatagram = (Deno as unknown as { listenDatagram: ListenDatagram }).listenDatagram;
const socket = listenDatagram({ hostname: "127.0.0.1", port: Number(Deno.args.at(-1) ?? 0), transport: "udp" });
console.log(socket.addr.port);

for await (const [data, from] of socket) {
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b >= 97 && b <= 122) data[i] = b - 32;
  }
  await socket.send(data, from);
}
