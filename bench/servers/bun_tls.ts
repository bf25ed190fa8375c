// The Bun.listen line server a competent user writes, over TLS: bun_lines.ts
// with `tls`. TCP_NODELAY on, every line answered, and the replies to all
// the complete lines of a chunk sent in one write. What is not taken at once
// is kept, with any replies made meanwhile, until `drain`.
// Usage: bun_tls.ts PORT CERT KEY (PEM files).
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
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
    tls: { cert: string; key: string };
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
  // Reply bytes not taken yet.
  unsent: Uint8Array | null;
}

function send(socket: Socket<State>, bytes: Uint8Array): void {
  const written = Math.max(socket.write(bytes), 0);
  socket.data.unsent = written < bytes.length ? bytes.subarray(written) : null;
}

const [port, cert, key] = process.argv.slice(2);
const server = Bun.listen<State>({
  hostname: "127.0.0.1",
  port: Number(port ?? 0),
  tls: { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") },
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
