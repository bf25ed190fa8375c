// An experiment, not a contender: the least a line server written with
// strings can do on Node. It decodes each chunk, splits it into lines,
// uppercases each, and answers the whole chunk with one write. There is no
// limit on a line and no backpressure, so it is not a server to use. It
// shows what the string work costs against the raw byte server.
// Usage: batched_lines_node.ts PORT (0: any).
import net from "node:net";
import process from "node:process";

const server = net.createServer((socket) => {
  let pending = "";
  socket.setEncoding("utf8");
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
    socket.write(reply);
  });
  socket.on("error", () => {});
});
server.listen(Number(process.argv.at(-1) ?? 0), "127.0.0.1", () => {
  console.log((server.address() as net.AddressInfo).port);
});
