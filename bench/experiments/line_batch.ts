// Probe for PROFILES.md: what answering a batch of 16 pipelined 12-byte lines
// costs per line in JavaScript alone, no sockets: doorway's LineDecoder with
// `uppercase` and the reply concatenated as PushedLines does, against the
// least a line server can do (decode, split, uppercase, concatenate).
//
//   node --import tsx bench/experiments/line_batch.ts
//   node_modules/.bin/deno run bench/experiments/line_batch.ts
//   node_modules/.bin/bun bench/experiments/line_batch.ts
import { LineDecoder } from "../../protocol/line_decoder.ts";
import { uppercase } from "../../protocol/uppercase.ts";

const LINES = 16;
const chunk = new TextEncoder().encode("abcdefghijk\n".repeat(LINES));
const decoder = new LineDecoder();
const text = new TextDecoder();
let sink = 0;

function doorway(): string {
  decoder.push(chunk);
  let reply = "";
  for (let line = decoder.next(); line !== undefined; line = decoder.next()) reply += uppercase(line) + "\n";
  return reply;
}

function least(): string {
  const lines = text.decode(chunk).split("\n");
  let reply = "";
  for (let i = 0; i < lines.length - 1; i++) reply += lines[i].toUpperCase() + "\n";
  return reply;
}

function measure(name: string, batch: () => string): void {
  for (let i = 0; i < 200_000; i++) sink += batch().length;
  const n = 1_000_000;
  const start = performance.now();
  for (let i = 0; i < n; i++) sink += batch().length;
  console.log(`${name}: ${(((performance.now() - start) * 1e6) / n / LINES).toFixed(1)} ns per line`);
}

for (let round = 0; round < 2; round++) {
  measure("LineDecoder + uppercase + concatenation", doorway);
  measure("decode + split + toUpperCase + concatenation", least);
}
if (sink === 0) console.log("unreachable");
