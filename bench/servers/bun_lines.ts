// The Bun.listen line server a competent user writes: TCP_NODELAY on (Bun's
// default, set anyway), every line answered, and the replies to all the
// complete lines of a chunk sent in one write. What the kernel does not
// take at once is kept, with any replies made meanwhile, until `drain`.
// Usage: bun_lines.ts PORT (0: any).
import { Buffer } from "node:buffer";
import process from "node:process";

// The slice of Bun's API used here, typed locally so that `deno check` passes.
interface Socket<T> {
  data: T;
  write(data: string | Uint8Array): number;
  setNoDelay(noDelay: boolean): boolean;
}
interface BunApi {
  listen<T>(options: {
    hostname: string;
    port: number;
    socket: {
      open(socket: Socket<T>): void;
      data(socket: Socket<T>, chunk: Uint8Array): void;
      drain(socket: Socket<T>): void;
    };
  }): { port: number };
}
const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;

interface State {
  pending: string;
  decoder: TextDecoder;
  // Reply bytes the kernel has not taken yet.
  unsent: Uint8Array | null;
}

function send(socket: Socket<State>, bytes: Uint8Array): void {
  const written = Math.max(socket.write(bytes), 0);
  socket.data.unsent = written < bytes.length ? bytes.subarray(written) : null;
}

const server = Bun.listen<State>({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  socket: {
    open(socket) {
      socket.setNoDelay(true);
      socket.data = { pending: "", decoder: new TextDecoder(), unsent: null };
    },
    data(socket, chunk) {
      const state = socket.data;
      const text = state.pending + state.decoder.decode(chunk, { stream: true });
      const last = text.lastIndexOf("\n");
      if (last < 0) {
        state.pending = text;
        return;
      }
      state.pending = text.slice(last + 1);
      const lines = text.slice(0, last).split("\n");
      let reply = "";
      for (let i = 0; i < lines.length; i++) reply += lines[i].toUpperCase() + "\n";
      const unsent = state.unsent;
      if (unsent !== null) {
        state.unsent = Buffer.concat([unsent, Buffer.from(reply)]);
        return;
      }
      // A string goes to Bun as it is (encoded natively); its UTF-8 length
      // tells a short write from a whole one.
      const written = Math.max(socket.write(reply), 0);
      const length = Buffer.byteLength(reply);
      if (written < length) state.unsent = Buffer.from(reply).subarray(written);
    },
    drain(socket) {
      if (socket.data.unsent !== null) send(socket, socket.data.unsent);
    },
  },
});
console.log(server.port);
