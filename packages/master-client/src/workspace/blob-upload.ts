import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { MAX_UPLOAD_CHUNK_BYTES, type UploadBlobsRequest } from "@opencode-worker/shared";
import { toWireDigest } from "../convert.js";
import { FailedPreconditionError } from "../errors.js";
import type { BlobSource } from "./blob-digest.js";

/**
 * UploadBlobs's messages for `blobs`, each file read from disk in 1 MiB chunks, the next one read
 * while the previous one is sent. A blob's last chunk is held back until its whole content is
 * hashed, so a file that changed since it was hashed fails here, clearly, before the worker ever
 * sees a wrong digest.
 * @throws FailedPreconditionError naming the file when its content no longer matches its digest
 */
export async function* uploadMessages(blobs: readonly BlobSource[]): AsyncGenerator<UploadBlobsRequest, void, undefined> {
  for (const [index, blob] of blobs.entries()) {
    const digest = toWireDigest(blob);
    const hash = createHash("sha256");
    const file = await open(blob.path, "r");
    let next = readChunk(file, blob.size, 0);
    try {
      let offset = 0;
      let held: UploadBlobsRequest = { digest, offset: "0", data: Buffer.alloc(0) };
      for (;;) {
        const data = await next;
        if (data.length === 0) break;
        hash.update(data);
        const at = offset;
        offset += data.length;
        // The next read runs while this chunk is sent (a read past the size finds a file that grew).
        next = offset > blob.size ? Promise.resolve(Buffer.alloc(0)) : readChunk(file, blob.size, offset);
        if (at > 0 || held.data.length > 0) yield held;
        held = { digest, offset: String(at), data };
      }
      if (offset !== blob.size || hash.digest("hex") !== blob.sha256) {
        throw new FailedPreconditionError(
          `blobs[${index}]: ${blob.path} changed since it was hashed (expected ${blob.size} bytes with sha256 ${blob.sha256}); ` +
            `hash it again and retry`,
          { field: `blobs[${index}].path` },
        );
      }
      yield held;
    } finally {
      // A read still running when the consumer left: its failure is nobody's to report.
      await next.catch(() => undefined);
      await file.close();
    }
  }
}

/**
 * Starts reading up to 1 MiB at `offset` (one byte more than the size leaves, to see a file that
 * grew). Its failure is handled already: it may come while the consumer holds the previous chunk.
 */
function readChunk(file: FileHandle, size: number, offset: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(Math.min(MAX_UPLOAD_CHUNK_BYTES, Math.max(1, size - offset + 1)));
  const read = file.read(buffer, 0, buffer.length, offset).then(({ bytesRead }) => buffer.subarray(0, bytesRead));
  read.catch(() => undefined);
  return read;
}
