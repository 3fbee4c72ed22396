import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { UploadBlobsRequest } from "@opencode-worker/shared";
import { toWireDigest } from "../convert.js";
import { FailedPreconditionError } from "../errors.js";
import type { BlobSource } from "./blob-digest.js";

/** The most one UploadBlobs message carries (the contract's limit). */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/**
 * UploadBlobs's messages for `blobs`, each file read from disk in 1 MiB chunks while it is sent. A
 * blob's last chunk is held back until its whole content is hashed, so a file that changed since it
 * was hashed fails here, clearly, before the worker ever sees a wrong digest.
 * @throws FailedPreconditionError naming the file when its content no longer matches its digest
 */
export async function* uploadMessages(blobs: readonly BlobSource[]): AsyncGenerator<UploadBlobsRequest, void, undefined> {
  for (const [index, blob] of blobs.entries()) {
    const digest = toWireDigest(blob);
    const hash = createHash("sha256");
    const file = await open(blob.path, "r");
    try {
      let offset = 0;
      let held: UploadBlobsRequest = { digest, offset: "0", data: Buffer.alloc(0) };
      for (;;) {
        const buffer = Buffer.allocUnsafe(Math.min(UPLOAD_CHUNK_BYTES, Math.max(1, blob.size - offset + 1)));
        const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        const data = buffer.subarray(0, bytesRead);
        hash.update(data);
        if (offset > 0 || held.data.length > 0) yield held;
        held = { digest, offset: String(offset), data };
        offset += bytesRead;
        if (offset > blob.size) break;
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
      await file.close();
    }
  }
}
