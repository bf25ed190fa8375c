// The obvious Bun.listen line server: read, split lines, uppercase, one write
// per line. Usage: bun_lines.ts PORT (0: any).
import process from "node:process";

// The slice of Bun's API used here, typed locally so that `deno check` passes.
interface Socket<T> {
  data: T;
  write(data: string | Uint8Array): number;
}
interface BunApi {
  listen<T>(options: {
    hostname: string;
    port: number;
    socket: { open(socket: Socket<T>): void; data(socket: Socket<T>, chunk: Uint8Array): void };
  }): { port: number };
}
const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;

interface State {
  pending: string;
  decoder: TextDecoder;
}

const server = Bun.listen<State>({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  socket: {
    open(socket) {
      socket.data = { pending: "", decoder: new TextDecoder() };
    },
    data(socket, chunk) {
      const state = socket.data;
      state.pending += state.decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = state.pending.indexOf("\n")) >= 0) {
        const line = state.pending.slice(0, newline);
        state.pending = state.pending.slice(newline + 1);
        socket.write(line.toUpperCase() + "\n");
      }
    },
  },
});
console.log(server.port);
