// utf8Length() against TextEncoder, which is what every runtime sends.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { utf8Length } from "../../utf8_length.ts";

const encoder = new TextEncoder();
const RUNS = { numRuns: 300, seed: 20_261_207 };

// Texts of every kind: ASCII, two-, three- and four-byte characters, and
// lone surrogates (encoded as U+FFFD), short and past 1,024 code units.
const piece = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.constantFrom("\ud800", "\udc00", "😀", "é", "€", "\ud83d"),
);

describe("utf8Length", () => {
  test("counts what TextEncoder encodes, for any text", () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 200 }), fc.nat(1100), (pieces, pad) => {
        const text = "a".repeat(pad) + pieces.join("");
        assert.equal(utf8Length(text), encoder.encode(text).byteLength);
      }),
      RUNS,
    );
  });

  test("counts short texts of any kind", () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), (pieces) => {
        const text = pieces.join("").slice(0, 40);
        assert.equal(utf8Length(text), encoder.encode(text).byteLength);
      }),
      RUNS,
    );
  });

  test("counts texts around the lengths where counting changes method", () => {
    for (const length of [0, 1, 15, 16, 17, 1023, 1024, 1025, 5000]) {
      for (const unit of ["a", "é", "€", "😀", "\ud800"]) {
        const text = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
        assert.equal(utf8Length(text), encoder.encode(text).byteLength, `${length} of ${JSON.stringify(unit)}`);
      }
    }
    // A surrogate pair across a length where the method changes: 4 bytes;
    // 16 code units are counted by the loop, 17 are not.
    assert.equal(utf8Length("a".repeat(14) + "😀"), 18);
    assert.equal(utf8Length("a".repeat(15) + "😀"), 19);
    // A high surrogate last is a lone one: 3 bytes, as U+FFFD.
    assert.equal(utf8Length("a".repeat(15) + "\ud83d"), 18);
    assert.equal(utf8Length("a".repeat(1023) + "😀"), 1027);
    // Half of a pair is a lone surrogate: 3 bytes, as U+FFFD.
    assert.equal(utf8Length("😀".slice(0, 1)), 3);
  });
});
