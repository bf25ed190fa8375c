// Bun's UDP upper bound: uppercase each datagram's ASCII bytes in place and
// send it back. Usage: bun_udp.ts PORT (0: any).
import process from "node:process";

// The slice of Bun's API used here, typed locally so that `deno check` passes.
interface UdpSocket {
  readonly port: number;
  send(data: Uint8Array, port: number, address: string): boolean;
}
interface BunApi {
  udpSocket(options: {
    hostname: string;
    port: number;
    binaryType: "uint8array";
    socket: { data(socket: UdpSocket, data: Uint8Array, port: number, address: string): void };
  }): Promise<UdpSocket>;
}
const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;

const socket = await Bun.udpSocket({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  binaryType: "uint8array",
  socket: {
    data(socket, data, port, address) {
      for (let i = 0; i < data.length; i++) {
        const b = data[i];
        if (b >= 97 && b <= 122) data[i] = b - 32;
      }
      socket.send(data, port, address);
    },
  },
});
console.log(socket.port);
