import type { OutputExcerpt } from "./excerpt.js";

/**
 * Follows a live stream and keeps only what a model will be shown: the first `window` bytes, a
 * ring of the last `window` bytes, and the byte count. Memory stays at two windows however long the
 * job talks, and the cost per chunk is constant: lines are counted by the worker (the result's
 * `stdoutLines`), not here.
 */
export class OutputDigest {
  readonly #window: number;
  readonly #head: Buffer[] = [];
  #headBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #totalBytes = 0;

  constructor(window: number) {
    this.#window = window;
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  push(chunk: Buffer): void {
    this.#totalBytes += chunk.length;
    const toHead = Math.min(chunk.length, this.#window - this.#headBytes);
    if (toHead > 0) {
      // A copy: a slice would keep the whole message buffer it came in alive for the job's lifetime.
      this.#head.push(Buffer.from(chunk.subarray(0, toHead)));
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

  /** The last `bytes` bytes seen (fewer when the digest no longer holds them), for a live preview. */
  latest(bytes: number): Buffer {
    const parts: Buffer[] = [];
    let have = 0;
    // Once chunks between the head and the tail were dropped, the head does not lead into the tail.
    const contiguous = this.#headBytes + this.#tailBytes === this.#totalBytes;
    for (const chunks of contiguous ? [this.#tail, this.#head] : [this.#tail]) {
      for (let index = chunks.length - 1; index >= 0 && have < bytes; index -= 1) {
        parts.unshift(chunks[index]!);
        have += chunks[index]!.length;
      }
    }
    const joined = Buffer.concat(parts);
    return joined.subarray(Math.max(0, joined.length - bytes));
  }

  /** The excerpt of everything pushed; `newlines` is the stream's count when the worker gave it. */
  excerpt(newlines: number | undefined): OutputExcerpt {
    const tail = Buffer.concat(this.#tail);
    return {
      head: Buffer.concat(this.#head),
      tail: tail.subarray(Math.max(0, tail.length - this.#window)),
      knownBytes: this.#totalBytes,
      totalBytes: this.#totalBytes,
      newlines,
    };
  }
}
