// node:dgram's upper bound: uppercase each datagram's ASCII bytes in place
// and send it back. Usage: node_udp.ts PORT (0: any).
import dgram from "node:dgram";
import process from "node:process";

const socket = dgram.createSocket("udp4");
socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
  for (let i = 0; i < msg.length; i++) {
    const b = msg[i];
    if (b >= 97 && b <= 122) msg[i] = b - 32;
  }
  socket.send(msg, rinfo.port, rinfo.address);
});
socket.bind(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(socket.address().port);
});
