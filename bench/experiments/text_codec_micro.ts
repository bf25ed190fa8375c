// An experiment, not a contender: what decoding a short line and encoding its
// reply cost on each runtime, with the runtime's TextDecoder and encodeInto()
// against a byte-by-byte copy of ASCII, per call, in a loop (bench/PROFILES.md,
// item 43). Each decoded line is uppercased, as the benchmark's service does,
// which flattens a string built as a rope. Run it with each runtime:
//   deno run bench/experiments/text_codec_micro.ts
//   bun bench/experiments/text_codec_micro.ts
//   node --import tsx bench/experiments/text_codec_micro.ts
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const CALLS = 1_000_000;
let sink = 0;

// Tried in protocol/_sole_line.ts and dropped (ba32a8c): cheaper here, level
// in the servers.
const codes: number[] = [];
function decodeAscii(bytes: Uint8Array, length: number): string | undefined {
  codes.length = length;
  for (let i = 0; i < length; i++) {
    const byte = bytes[i];
    if (byte > 0x7f) return undefined;
    codes[i] = byte;
  }
  return String.fromCharCode.apply(null, codes);
}

// A character at a time, as ebcf4e2 did: a rope on Bun until something
// flattens it.
function decodeAsciiByConcat(bytes: Uint8Array, length: number): string | undefined {
  let text = "";
  for (let i = 0; i < length; i++) {
    const byte = bytes[i];
    if (byte > 0x7f) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}

function encodeAscii(text: string, into: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit > 0x7f) return -1;
    into[at + i] = unit;
  }
  return text.length;
}

// ns per call, the best of four loops.
function time(loop: () => void): number {
  let best = Infinity;
  for (let run = 0; run < 4; run++) {
    const start = performance.now();
    loop();
    best = Math.min(best, performance.now() - start);
  }
  return (best * 1e6) / CALLS;
}

const slab = new Uint8Array(8192);
for (const length of [4, 12, 24, 48, 96]) {
  const text = "abcdefghijklmnopqrstuvwxyz".repeat(4).slice(0, length - 1) + "\n";
  const line = encoder.encode(text);
  const decoded = time(() => {
    for (let i = 0; i < CALLS; i++) {
      const t = decoder.decode(line);
      sink += t.slice(0, t.length - 1).toUpperCase().length;
    }
  });
  const copied = time(() => {
    for (let i = 0; i < CALLS; i++) sink += decodeAscii(line, line.length - 1)!.toUpperCase().length;
  });
  const concatenated = time(() => {
    for (let i = 0; i < CALLS; i++) sink += decodeAsciiByConcat(line, line.length - 1)!.toUpperCase().length;
  });
  let at = 0;
  const encoded = time(() => {
    for (let i = 0; i < CALLS; i++) {
      if (at > 7000) at = 0;
      const { written } = encoder.encodeInto(text, slab.subarray(at));
      sink += slab.subarray(at, at + written).length;
      at = (at + written + 7) & ~7;
    }
  });
  const copiedOut = time(() => {
    for (let i = 0; i < CALLS; i++) {
      if (at > 7000) at = 0;
      const written = encodeAscii(text, slab, at);
      sink += slab.subarray(at, at + written).length;
      at = (at + written + 7) & ~7;
    }
  });
  console.log(
    `${length} bytes: decode and uppercase ${decoded.toFixed(0)} ns, from char codes ${copied.toFixed(0)} ns,` +
      ` by concatenation ${concatenated.toFixed(0)} ns;` +
      ` encodeInto ${encoded.toFixed(0)} ns, ASCII copy ${copiedOut.toFixed(0)} ns`,
  );
}
if (sink === 0) console.log("nothing measured");
