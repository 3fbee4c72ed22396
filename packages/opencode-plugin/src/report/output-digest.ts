import { countNewlines, type OutputExcerpt } from "./excerpt.js";

/**
 * Follows a live stream and keeps only what a model will be shown: the first `window` bytes, a
 * ring of the last `window` bytes, and the byte and newline counts. Memory stays at two windows
 * however long the job talks.
 */
export class OutputDigest {
  readonly #window: number;
  readonly #head: Buffer[] = [];
  #headBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #totalBytes = 0;
  #newlines = 0;

  constructor(window: number) {
    this.#window = window;
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  push(chunk: Buffer): void {
    this.#totalBytes += chunk.length;
    this.#newlines += countNewlines(chunk);
    const toHead = Math.min(chunk.length, this.#window - this.#headBytes);
    if (toHead > 0) {
      this.#head.push(chunk.subarray(0, toHead));
      this.#headBytes += toHead;
    }
    const rest = chunk.subarray(toHead);
    if (rest.length === 0) return;
    this.#tail.push(rest);
    this.#tailBytes += rest.length;
    // Drop whole chunks that fall out of the window; the excerpt trims the first one left.
    while (this.#tail.length > 1 && this.#tailBytes - this.#tail[0]!.length >= this.#window) {
      this.#tailBytes -= this.#tail.shift()!.length;
    }
  }

  /** The last `bytes` bytes seen, for a live preview. */
  latest(bytes: number): Buffer {
    const parts: Buffer[] = [];
    let have = 0;
    for (const chunks of [this.#tail, this.#head]) {
      for (let index = chunks.length - 1; index >= 0 && have < bytes; index -= 1) {
        parts.unshift(chunks[index]!);
        have += chunks[index]!.length;
      }
    }
    const joined = Buffer.concat(parts);
    return joined.subarray(Math.max(0, joined.length - bytes));
  }

  excerpt(): OutputExcerpt {
    const tail = Buffer.concat(this.#tail);
    return {
      head: Buffer.concat(this.#head),
      tail: tail.subarray(Math.max(0, tail.length - this.#window)),
      knownBytes: this.#totalBytes,
      totalBytes: this.#totalBytes,
      newlines: this.#newlines,
    };
  }
}
