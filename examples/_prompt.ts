// The textbook clients' `input('Input lowercase sentence:')`, shared by
// tcp_client.ts and udp_client.ts.
import process from "node:process";
import { createInterface } from "node:readline";

/** Prompts on stdout and reads one line of stdin; `undefined` if stdin is empty. */
export async function readSentence(): Promise<string | undefined> {
  process.stdout.write("Input lowercase sentence: ");
  const input = createInterface({ input: process.stdin });
  try {
    for await (const line of input) return line;
    return undefined;
  } finally {
    input.close();
    // Piped input echoes nothing: end the prompt's line ourselves.
    if (!process.stdin.isTTY) process.stdout.write("\n");
  }
}
