// The obvious node:net line server: read, split lines, uppercase, one write
// per line. Also what a user runs under Deno and Bun for cross-runtime code.
// Usage: node_lines.ts PORT (0: any).
import net from "node:net";
import process from "node:process";

const server = net.createServer((socket) => {
  let pending = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      socket.write(line.toUpperCase() + "\n");
    }
  });
  socket.on("error", () => {});
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log((server.address() as net.AddressInfo).port);
});
