// The UTF-8 helpers behind text replies: a pump counts a string reply's
// bytes without encoding it (Node and Bun encode it themselves), so the
// count must match what an encoder makes of every kind of UTF-16 string.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encodeUtf8, utf8Length } from "../runtime/_utf8.ts";

const utf8 = new TextEncoder();

describe("utf8Length and encodeUtf8", () => {
  test("count and bytes match TextEncoder, lone surrogates included", () => {
    const samples = [
      "",
      "ascii only\n",
      "é ß ÿ",
      "€uro ✓",
      "😀 pair",
      "\ud800",
      "x\udc00y",
      "\ud83d",
      "\ud83d\ud83d\ude00",
      "\ude00\ud83d",
      "mixed é€😀\ud800 end",
      "é".repeat(2000),
    ];
    for (const text of samples) {
      const expected = utf8.encode(text);
      assert.equal(utf8Length(text), expected.byteLength, JSON.stringify(text));
      assert.deepEqual(encodeUtf8(text), expected, JSON.stringify(text));
    }
  });

  test("every code unit, alone and in pairs, counts as TextEncoder encodes it", () => {
    for (let unit = 0; unit < 0x10000; unit += 7) {
      const text = String.fromCharCode(unit) + String.fromCharCode(0xdc00 + (unit % 0x400));
      assert.equal(utf8Length(text), utf8.encode(text).byteLength, `unit ${unit}`);
    }
  });

  test("every reply keeps its bytes: ASCII, text that leaves ASCII part way, and slabs that fill up", () => {
    // Units that make the short-ASCII path and its fallback meet: ASCII,
    // two- and three-byte characters, surrogate halves (paired or not).
    const unitArb = fc.constantFrom("a", "Z", "\n", "\x7f", "\x80", "é", "€", "\ud83d", "\ude00");
    const textArb = fc.oneof(
      fc.string({ unit: unitArb, maxLength: 40 }),
      fc.string({ unit: fc.constantFrom("a", "b", "\n"), minLength: 30, maxLength: 34 }),
      fc.string({ unit: "binary", maxLength: 1100 }),
    );
    fc.assert(
      fc.property(fc.array(textArb, { minLength: 1, maxLength: 60 }), (texts) => {
        const encoded = texts.map((text) => encodeUtf8(text));
        // Checked after all of them: a later reply must not write over an earlier one's bytes.
        texts.forEach((text, i) => {
          assert.deepEqual(encoded[i], utf8.encode(text), JSON.stringify(text));
          // A slab region starts where an allocation would: 8-byte aligned.
          if (text.length <= 1024) assert.equal(encoded[i].byteOffset % 8, 0, JSON.stringify(text));
        });
      }),
      { numRuns: 200, seed: Number(process.env.DOORWAY_SEED ?? 20_250_611) },
    );
  });
});
