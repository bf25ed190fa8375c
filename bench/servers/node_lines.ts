// The node:net line server a competent user writes: TCP_NODELAY on, every
// line answered, and the replies to all the complete lines of a chunk sent
// in one write, so that pipelined lines get one segment back rather than a
// segment each behind Nagle's algorithm. Reading pauses while the kernel
// holds a reply back. Also what a user runs under Deno and Bun for
// cross-runtime code. Usage: node_lines.ts PORT (0: any).
import net from "node:net";
import process from "node:process";

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.setEncoding("utf8");
  let pending = "";
  socket.on("data", (chunk: string) => {
    const text = pending + chunk;
    const last = text.lastIndexOf("\n");
    if (last < 0) {
      pending = text;
      return;
    }
    pending = text.slice(last + 1);
    const lines = text.slice(0, last).split("\n");
    let reply = "";
    for (let i = 0; i < lines.length; i++) reply += lines[i].toUpperCase() + "\n";
    if (!socket.write(reply)) {
      socket.pause();
      socket.once("drain", () => socket.resume());
    }
  });
  socket.on("error", () => {});
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log((server.address() as net.AddressInfo).port);
});
