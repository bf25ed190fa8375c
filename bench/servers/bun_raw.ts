// Bun's upper bound: uppercase each chunk's ASCII bytes in place and write it
// back, keeping what the kernel did not take until `drain`. No line framing.
// Usage: bun_raw.ts PORT (0: any).
import process from "node:process";

// The slice of Bun's API used here, typed locally so that `deno check` passes.
interface Socket<T> {
  data: T;
  write(data: Uint8Array): number;
}
interface Handlers<T> {
  binaryType: "uint8array";
  open(socket: Socket<T>): void;
  data(socket: Socket<T>, chunk: Uint8Array): void;
  drain(socket: Socket<T>): void;
}
interface BunApi {
  listen<T>(options: { hostname: string; port: number; socket: Handlers<T> }): { port: number };
}
const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;

interface State {
  unsent: Uint8Array | null;
}

function flush(socket: Socket<State>, bytes: Uint8Array): void {
  const written = socket.write(bytes);
  socket.data.unsent = written < bytes.length ? bytes.subarray(Math.max(written, 0)) : null;
}

const server = Bun.listen<State>({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  socket: {
    binaryType: "uint8array",
    open(socket) {
      socket.data = { unsent: null };
    },
    data(socket, chunk) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (b >= 97 && b <= 122) chunk[i] = b - 32;
      }
      const unsent = socket.data.unsent;
      if (unsent === null) {
        flush(socket, chunk);
      } else {
        const both = new Uint8Array(unsent.length + chunk.length);
        both.set(unsent);
        both.set(chunk, unsent.length);
        socket.data.unsent = both;
      }
    },
    drain(socket) {
      if (socket.data.unsent !== null) flush(socket, socket.data.unsent);
    },
  },
});
console.log(server.port);
