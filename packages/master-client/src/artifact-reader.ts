import type { Transport } from "./transport.js";

export interface ReadArtifactOptions {
  /** Byte offset to start at. @default 0 */
  offset?: number;
  /** Bytes to read at most; 0 reads to the end. @default 0 */
  length?: number;
  /** Ends the read (and the call) with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * The bytes of one collected artifact, in chunks as the worker sends them. After a retryable
 * failure the read resumes at the byte after the last one delivered, asking only for what is left.
 */
export async function* readArtifactChunks(
  transport: Transport,
  jobId: string,
  path: string,
  offset: number,
  length: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer, void, undefined> {
  let next = offset;
  let remaining = length;
  const limited = length > 0;
  const responses = transport.stream(
    "readArtifact",
    // With a length, nothing left means done: asking for 0 more bytes would read to the end.
    () => (limited && remaining === 0 ? undefined : { jobId, path, offset: String(next), length: String(remaining) }),
    { signal, jobId },
  );
  for await (const { data } of responses) {
    if (data.length === 0) continue;
    next += data.length;
    if (limited) remaining = Math.max(0, remaining - data.length);
    yield data;
  }
}
