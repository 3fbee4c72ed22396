import { toWireDigest } from "../convert.js";
import type { Transport } from "../transport.js";
import type { BlobDigest } from "./blob-digest.js";

/**
 * The bytes of one blob of the caller's store, in chunks as the worker sends them. After a
 * retryable failure the read resumes at the byte after the last one delivered.
 */
export async function* readBlobChunks(
  transport: Transport,
  digest: BlobDigest,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer, void, undefined> {
  let next = 0;
  const responses = transport.stream("readBlob", () => ({ digest: toWireDigest(digest), offset: String(next) }), { signal });
  for await (const { data } of responses) {
    if (data.length === 0) continue;
    next += data.length;
    yield data;
  }
}
