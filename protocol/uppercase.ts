/**
 * The textbook's application: a sentence in, the same sentence uppercased out.
 *
 * @module
 */

/**
 * Uppercases a line as text, like Python's `str.upper()`: `é` becomes `É`,
 * and `ß` becomes `SS`.
 *
 * @example Uppercasing a sentence
 * ```ts
 * import { uppercase } from "./uppercase.ts";
 *
 * if (uppercase("café au lait") !== "CAFÉ AU LAIT") throw new Error("not uppercased");
 * ```
 */
export function uppercase(line: string): string {
  return line.toUpperCase();
}
