import { createReadStream } from "node:fs";
import type { CollectedArtifact } from "./collect-artifacts.js";

/**
 * Bytes [start, end) of a collected artifact, in chunks of `chunkBytes` from `start` (the last one
 * shorter), the same whether it is held in memory or stored: ReadArtifact cannot tell them apart.
 * Breaking out of the iteration closes the stored file.
 */
export async function* artifactChunks(
  artifact: CollectedArtifact,
  start: number,
  end: number,
  chunkBytes: number,
): AsyncGenerator<Buffer, void, undefined> {
  if (artifact.content !== undefined) {
    for (let position = start; position < end; position += chunkBytes)
      yield artifact.content.subarray(position, Math.min(end, position + chunkBytes));
    return;
  }
  yield* createReadStream(artifact.storedPath, { start, end: end - 1, highWaterMark: chunkBytes }) as AsyncIterable<Buffer>;
}
