/**
 * What a model is shown of one output stream: a head from byte 0 and a tail ending where the known
 * output ends, plus the totals, so the text can say exactly what was left out without the middle
 * ever being read. Building one costs the size of the windows, never of the output.
 */
export interface OutputExcerpt {
  /** Bytes from offset 0. */
  head: Buffer;
  /** Bytes ending at `knownBytes`; starts at or after the end of `head`. */
  tail: Buffer;
  /** Bytes of the stream that exist somewhere: the worker kept them, or the stream delivered them. */
  knownBytes: number;
  /** Bytes the job wrote; more than `knownBytes` when the worker kept only the first part. */
  totalBytes: number;
  /** Newlines in all `totalBytes`, when counted; undefined when nobody counted them. */
  newlines: number | undefined;
}

/** The excerpt of a stream held whole in memory: only its two windows are looked at. */
export function excerptOf(data: Buffer, totalBytes: number, newlines: number | undefined, window: number): OutputExcerpt {
  const head = data.subarray(0, Math.min(data.length, window));
  const tail = data.subarray(Math.max(head.length, data.length - window));
  return { head, tail, knownBytes: data.length, totalBytes: Math.max(totalBytes, data.length), newlines };
}

/** Newline characters in a buffer, with the native search rather than a per-byte loop. */
export function countNewlines(data: Uint8Array): number {
  let count = 0;
  for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) count += 1;
  return count;
}
