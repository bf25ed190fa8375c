// An experiment, not a contender: the least a line server written with
// strings can do on Bun. It decodes each chunk, splits it into lines,
// uppercases each, and answers the whole chunk with one write. There is no
// limit on a line and a short write loses bytes, so it is not a server to
// use. It shows what the string work costs against the raw byte server.
// Usage: batched_lines_bun.ts PORT (0: any).
import process from "node:process";

interface Socket {
  data: { pending: string; decoder: TextDecoder };
  write(data: string): number;
}
interface BunApi {
  listen(options: {
    hostname: string;
    port: number;
    socket: {
      binaryType: "uint8array";
      open(socket: Socket): void;
      data(socket: Socket, chunk: Uint8Array): void;
    };
  }): { port: number };
}
const Bun = (globalThis as unknown as { Bun: BunApi }).Bun;

const server = Bun.listen({
  hostname: "127.0.0.1",
  port: Number(process.argv.at(-1) ?? 0),
  socket: {
    binaryType: "uint8array",
    open(socket) {
      socket.data = { pending: "", decoder: new TextDecoder() };
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
      socket.write(reply);
    },
  },
});
console.log(server.port);
