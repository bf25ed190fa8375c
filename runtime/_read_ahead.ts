/**
 * The read-ahead queue of the adapters whose runtime pushes bytes (Node's
 * `data` events, Bun's `data` handler): what arrived before anyone read it,
 * bounded so that a reader who stops makes the peer stop too.
 *
 * @module
 */

// Bytes queued before the adapter pauses its socket; it resumes below half.
const READ_AHEAD = 64 * 1024;

/**
 * Chunks waiting for `read()`. It tells its adapter when to pause and when to
 * resume the socket rather than calling back, so a connection costs no
 * closures for it.
 */
export class ReadAhead {
  #chunks: (Uint8Array | undefined)[] = [];
  #head = 0;
  #queued = 0;
  #paused = false;

  /** Queues a chunk; `true` when the socket must be paused now. */
  push(chunk: Uint8Array): boolean {
    this.#chunks.push(chunk);
    this.#queued += chunk.byteLength;
    if (this.#queued < READ_AHEAD || this.#paused) return false;
    this.#paused = true;
    return true;
  }

  /** The oldest chunk, or `undefined` when none is queued. */
  shift(): Uint8Array | undefined {
    if (this.#head === this.#chunks.length) return undefined;
    const chunk = this.#chunks[this.#head]!;
    this.#chunks[this.#head++] = undefined;
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#chunks.length) {
      // Under a steady backlog the queue never empties: drop the spent
      // slots now and then, or the array grows by one per item forever.
      this.#chunks.splice(0, this.#head);
      this.#head = 0;
    }
    this.#queued -= chunk.byteLength;
    return chunk;
  }

  /** `true` once the queue has drained enough that a paused socket must resume. */
  resume(): boolean {
    if (!this.#paused || this.#queued >= READ_AHEAD / 2) return false;
    this.#paused = false;
    return true;
  }

  /** Whether no chunk is queued. */
  get empty(): boolean {
    return this.#head === this.#chunks.length;
  }
}
