import { invalidArgument } from "../errors.js";

/** A blob's identity: the sha256 of its content (64 lowercase hex characters) and its size. */
export interface Digest {
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** A digest as the wire carries it (BlobDigest: the size a decimal string, exact up to 2^64 - 1). */
export interface WireDigest {
  sha256: string;
  sizeBytes: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A request's digest, checked; INVALID_ARGUMENT naming `field` ("blobs[3]") and the part at fault
 * otherwise. Uppercase hex is refused rather than folded: the same blob must have one name.
 */
export function parseDigest(field: string, wire: WireDigest | undefined): Digest {
  if (!wire) throw invalidArgument(field, "is required");
  if (!SHA256_HEX.test(wire.sha256)) {
    throw invalidArgument(`${field}.sha256`, `expected 64 lowercase hex characters, got ${JSON.stringify(wire.sha256.slice(0, 80))}`);
  }
  const sizeBytes = Number(wire.sizeBytes);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    throw invalidArgument(`${field}.size_bytes`, `${wire.sizeBytes} is beyond the largest blob size (${Number.MAX_SAFE_INTEGER} bytes)`);
  }
  return { sha256: wire.sha256, sizeBytes };
}

/** "<sha256>/<size>": how messages name a blob. */
export function digestName(digest: Digest): string {
  return `${digest.sha256}/${digest.sizeBytes}`;
}

export function sameDigest(a: Digest, b: Digest): boolean {
  return a.sha256 === b.sha256 && a.sizeBytes === b.sizeBytes;
}
