// The textbook's TCPClient.py over TLS, done properly: examples/tcp_client.ts with a certificate checked.
// - connect() with `tls` (tcp/connect.ts): the server's certificate must be signed by a CA the client trusts
//   (the runtime's default ones, or --ca's) and be valid for --hostname; connect() resolves only once the
//   handshake is done, and a certificate that fails is one line naming why (`certificate not trusted`), exit 1.
// - The same timeout, for connecting and the handshake together, and for the reply.
// - Flags are checked before the prompt: a mistake is one line and exit 2 (examples/_args.ts); a --ca file that
//   cannot be read is one line naming it and exit 1.
//
// Run: deno run --allow-net --allow-read examples/tls_client.ts [--hostname localhost] [--port 12443] [--ca ca.pem]
//      bun examples/tls_client.ts --ca cert.pem
//      node --import tsx examples/tls_client.ts --ca cert.pem
import process from "node:process";
import { connect, type TlsConnectOptions } from "../mod.ts";
import { integerFlag, MAX_INT, parseFlags, pemFileFlag, portFlag } from "./_args.ts";
import { readSentence } from "./_prompt.ts";

const USAGE = `Usage: examples/tls_client.ts [options]

The textbook's TCP client over TLS: reads a sentence from stdin, sends it to the server, prints the reply.

Options:
  --hostname HOST   the server's name or address, which its certificate must be valid for (default: localhost)
  --port N          the server's port (default: 12443)
  --ca FILE         trust the CA certificates in this PEM file instead of the runtime's default ones
  --timeout MS      give up connecting, or waiting for the reply, after this long (default: 5000)
  -h, --help        show this help

Deno needs --allow-read to read --ca.`;

const values = await parseFlags(USAGE, {
  hostname: { type: "string", default: "localhost" },
  port: { type: "string", default: "12443" },
  ca: { type: "string" },
  timeout: { type: "string", default: "5000" },
});
const hostname = values.hostname;
const port = await portFlag(values.port, 1);
const timeout = await integerFlag("timeout", values.timeout, 1, MAX_INT);
const tls: TlsConnectOptions = values.ca === undefined ? {} : { caCerts: [await pemFileFlag("ca", values.ca)] };

try {
  const sentence = await readSentence();
  if (sentence === undefined) process.exit(0);
  await using conn = await connect({ hostname, port, tls, timeout });
  await conn.write(sentence + "\n");
  const reply = await conn.readLine({ timeout });
  if (reply === null) {
    throw new Error(`Cannot read from ${hostname}:${port}: server closed the connection`);
  }
  console.log(`From Server: ${reply}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
process.exit(0);
