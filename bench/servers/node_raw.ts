// node:net's upper bound: uppercase each chunk's ASCII bytes in place and
// write the chunk back. No line framing, TCP_NODELAY on. Usage: node_raw.ts PORT.
import net from "node:net";
import process from "node:process";

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("data", (chunk: Uint8Array) => {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b >= 97 && b <= 122) chunk[i] = b - 32;
    }
    if (!socket.write(chunk)) {
      socket.pause();
      socket.once("drain", () => socket.resume());
    }
  });
  socket.on("error", () => {});
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log((server.address() as net.AddressInfo).port);
});
