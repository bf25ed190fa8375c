/**
 * What went wrong in a command line, for the `doorway` command and the
 * examples alike. Internal.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Names the option that made `parseArgs` throw `err`, in one short line:
 * `parseArgs`' own messages are long and name no command, so the arguments
 * are read again, leniently, to find the culprit.
 *
 * @example Naming an unknown option
 * ```ts
 * import { parseArgs } from "node:util";
 * import { explainArgsError } from "./_args_error.ts";
 *
 * const options = { port: { type: "string" as const } };
 * const args = ["--bogus"];
 * try {
 *   parseArgs({ args, options, strict: true });
 * } catch (err) {
 *   if (explainArgsError(err, { options, args }) !== 'Unknown option "--bogus"') throw new Error("unexpected");
 * }
 * ```
 */
export function explainArgsError(err: unknown, command: { options: Options; args: string[] }): string {
  const { options, args } = command;
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const type = Object.hasOwn(options, token.name) ? options[token.name].type : undefined;
    if (type === undefined) return `Unknown option "${token.rawName}"`;
    // A value taken from the next argument may not start with a dash: `--port --help` forgot the port.
    if (type === "string" && (token.value === undefined || (!token.inlineValue && token.value.startsWith("-")))) {
      return `Option "${token.rawName}" needs a value`;
    }
    if (type === "boolean" && token.value !== undefined) return `Option "${token.rawName}" takes no value`;
  }
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}
