import type { BlobStore } from "../blobs/blob-store.js";
import type { Digest } from "../blobs/digest.js";

/**
 * What materializing and diffing a workspace need of the worker's blob store (blobs/blob-store.ts), bound to the scope of
 * the job's caller (the session manager binds it), so these steps never see a caller.
 */
export interface ScopedBlobs {
  /** Where a blob's content lies; the blob is pinned for the job, so it stays there until the job ends. */
  pathOf(digest: Digest): string;
  /** Hashes the file at `path` into the store and returns its digest. */
  storeFile(path: string): Promise<Digest>;
}

/** The store as one scope sees it (BlobStore.scopeOf). */
export function scopedBlobs(store: BlobStore, scope: string): ScopedBlobs {
  return { pathOf: (digest) => store.pathOf(scope, digest), storeFile: (path) => store.storeFile(scope, path) };
}
