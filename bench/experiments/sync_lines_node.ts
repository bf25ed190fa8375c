// An experiment, not a contender: doorway's LineDecoder and the uppercase
// responder run synchronously inside node:net's data callback, with no
// promises at all. What answering lines costs on Node once the pull-based
// Conn API is taken away. Usage: sync_lines_node.ts PORT (0: any).
import net from "node:net";
import process from "node:process";
import { LineDecoder, uppercase } from "../../mod.ts";

const encoder = new TextEncoder();
const server = net.createServer({ noDelay: true }, (socket) => {
  const decoder = new LineDecoder();
  socket.on("data", (chunk: Uint8Array) => {
    decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let reply = "";
    for (let line = decoder.next(); line !== undefined; line = decoder.next()) reply += uppercase(line) + "\n";
    if (reply !== "") socket.write(encoder.encode(reply));
  });
  socket.on("error", () => {});
});
server.listen(Number(process.argv.at(-1) ?? 0), "127.0.0.1", () => {
  console.log((server.address() as net.AddressInfo).port);
});
