import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore } from "../../src/blobs/blob-store.js";
import type { Digest } from "../../src/blobs/digest.js";
import { scopedBlobs, type ScopedBlobs } from "../../src/workspace/workspace-blobs.js";

/** A real blob store in a temp dir, bound to one scope, for the workspace's unit tests. */
export interface TestBlobs {
  readonly store: BlobStore;
  readonly blobs: ScopedBlobs;
  /** Stores `content` and returns its digest. */
  put(content: string | Buffer): Promise<Digest>;
  remove(): Promise<void>;
}

export async function openTestBlobs(maxBytes = 1024 ** 3): Promise<TestBlobs> {
  const dir = await mkdtemp(join(tmpdir(), "workspace-blobs-"));
  const store = await BlobStore.open(join(dir, "store"), { maxBytes });
  const scope = BlobStore.scopeOf({ identity: "test", admin: false });
  const blobs = scopedBlobs(store, scope);
  let count = 0;
  return {
    store,
    blobs,
    async put(content) {
      const source = join(dir, `source-${count++}`);
      await writeFile(source, content);
      return store.storeFile(scope, source);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
