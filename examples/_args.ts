// The examples' command lines, shared: strict flags, --help, and a mistake reported as one line on stderr with
// exit code 2, all before an example prompts or opens a socket (as the `doorway` command does, in cli.ts).
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { explainArgsError } from "../_args_error.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

const HELP = { help: { type: "boolean", short: "h" } } as const;

/** The largest value a millisecond or count flag takes: setTimeout's limit. */
export const MAX_INT = 2 ** 31 - 1;

/**
 * Parses the program's arguments against `options` (plus `--help`). Prints `usage` and exits 0 for `--help`;
 * prints one line and exits 2 for an unknown flag, a missing value or a stray argument.
 */
export async function parseFlags<T extends Options>(usage: string, options: T) {
  const all: T & typeof HELP = { ...options, ...HELP };
  const args = process.argv.slice(2);
  let parsed;
  try {
    parsed = parseArgs({ args, options: all, strict: true, allowPositionals: true });
  } catch (err) {
    return await usageError(`${explainArgsError(err, { options: all, args })}; see --help`);
  }
  if ((parsed.values as { help?: boolean }).help) return await exit(process.stdout, usage, 0);
  if (parsed.positionals.length > 0) {
    return await usageError(`Unexpected argument "${parsed.positionals[0]}"; see --help`);
  }
  return parsed.values;
}

/** `--name`'s value as an integer from `min` to `max`, or one line on stderr and exit 2. */
export async function integerFlag(name: string, text: string, min: number, max: number): Promise<number> {
  const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (value >= min && value <= max) return value;
  return await usageError(`Invalid --${name} "${text}": must be an integer from ${min} to ${max}`);
}

/** `--name`'s value as a number from `min` to `max`, or one line on stderr and exit 2. */
export async function numberFlag(name: string, text: string, min: number, max: number): Promise<number> {
  const value = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (value >= min && value <= max) return value;
  return await usageError(`Invalid --${name} "${text}": must be a number from ${min} to ${max}`);
}

/** `--port`'s value: 0 (any free port) is for servers only. */
export function portFlag(text: string, min: 0 | 1): Promise<number> {
  return integerFlag("port", text, min, 65535);
}

// Why a file could not be read, in the words of socket_error.ts's reasons.
const READ_REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "is a directory",
};

/**
 * The PEM text in the file `--name` names. A file that cannot be read, or holds no PEM, is one line on stderr
 * naming it and exit 1: the flag was well formed, the system said no (as for a port that is taken).
 */
export async function pemFileFlag(name: string, path: string): Promise<string> {
  let reason: string;
  try {
    const text = readFileSync(path, "utf8");
    if (text.includes("-----BEGIN ")) return text;
    reason = "not PEM text";
  } catch (err) {
    const { name: errorName, code } = err as { name?: unknown; code?: unknown };
    // Deno's own permission check throws NotCapable, with no errno code.
    reason = errorName === "NotCapable"
      ? "permission denied (run Deno with --allow-read)"
      : READ_REASONS[String(code)] ?? String(code ?? err);
  }
  return await exit(process.stderr, `Cannot read --${name} ${path}: ${reason}`, 1);
}

/** Prints `message` as one line on stderr and exits 2, once it is written. */
export function usageError(message: string): Promise<never> {
  return exit(process.stderr, message, 2);
}

// process.exit() may drop what is still queued for a pipe (Bun does): exit once the text is out.
function exit(stream: NodeJS.WriteStream, text: string, code: number): Promise<never> {
  return new Promise(() => stream.write(text + "\n", () => process.exit(code)));
}
