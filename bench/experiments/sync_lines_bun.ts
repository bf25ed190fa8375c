// An experiment, not a contender: doorway's LineDecoder and the uppercase
// responder run synchronously inside Bun's data callback, with no promises
// at all. What answering lines costs on Bun once the pull-based Conn API is
// taken away. Usage: sync_lines_bun.ts PORT (0: any).
import process from "node:process";
import { LineDecoder, uppercase } from "../../mod.ts";

interface Socket {
  data: LineDecoder;
  write(data: Uint8Array): number;
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

const encoder = new TextEncoder();
const server = Bun.listen({
  hostname: "127.0.0.1",
  port: Number(process.argv.at(-1) ?? 0),
  socket: {
    binaryType: "uint8array",
    open(socket) {
      socket.data = new LineDecoder();
    },
    data(socket, chunk) {
      socket.data.push(chunk);
      let reply = "";
      for (let line = socket.data.next(); line !== undefined; line = socket.data.next()) {
        reply += uppercase(line) + "\n";
      }
      // A short write would lose bytes; the bench's small replies never are.
      if (reply !== "") socket.write(encoder.encode(reply));
    },
  },
});
console.log(server.port);
