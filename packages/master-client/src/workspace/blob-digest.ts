/** A blob's identity as the SDK names it, and the reader that checks one a caller gives. */
import { invalid, readNonNegativeInteger, readObject, readString } from "../validate.js";

/** A content's sha256 (lowercase hex) and size in bytes: how the worker's blob store names it. */
export interface BlobDigest {
  sha256: string;
  size: number;
}

/** A blob to upload, read from `path` while it is sent (and checked against its digest as it is read). */
export interface BlobSource extends BlobDigest {
  path: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function readBlobDigest(field: string, value: unknown): BlobDigest {
  const digest = readObject(field, value, ["sha256", "size"]);
  const sha256 = readString(`${field}.sha256`, digest.sha256);
  if (!SHA256_HEX.test(sha256)) throw invalid(`${field}.sha256`, "64 lowercase hex digits", sha256);
  return { sha256, size: readNonNegativeInteger(`${field}.size`, digest.size) };
}

/** A key for maps and sets of digests. */
export const digestKey = (digest: BlobDigest): string => `${digest.sha256}:${digest.size}`;
