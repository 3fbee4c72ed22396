import { invalidArgument } from "../errors.js";
import { digestName, sameDigest, type Digest } from "./digest.js";
import { TempBlob } from "./temp-blob.js";

/** One UploadBlobs call: chunks are verified as they arrive; nothing is visible until commit(). */
export interface BlobUpload {
  /**
   * One chunk. Thrown (INVALID_ARGUMENT naming "digest" or "offset" and the blob) on a gap, an
   * overlap, data past the size, a wrong digest once complete, or a new blob before the previous one
   * completed; RESOURCE_EXHAUSTED when the blob does not fit. A refused chunk aborts the whole upload.
   */
  chunk(digest: Digest, offset: number, data: Uint8Array): Promise<void>;
  /** Makes every completed blob visible (an atomic rename each; a concurrent upload of the same blob is fine). */
  commit(): Promise<{ stored: number; alreadyPresent: number }>;
  /** Drops everything of this call (temp files removed). Harmless after commit() or a refused chunk. */
  abort(): Promise<void>;
}

/** A verified blob waiting in the tmp dir for its commit. */
export interface VerifiedBlob {
  readonly digest: Digest;
  readonly tmpPath: string;
}

/** What an upload needs of the store: room, and a place for what it verified. */
export interface UploadTarget {
  readonly tmpDir: string;
  /** Holds room for a blob of `digest`'s size, evicting if needed (throws RESOURCE_EXHAUSTED). */
  reserve(digest: Digest): Promise<void>;
  /** Gives back room reserved for blobs that will not be stored. */
  release(bytes: number): void;
  /** Moves verified blobs into place; their reservations become stored bytes or are released. */
  adopt(scope: string, blobs: readonly VerifiedBlob[]): Promise<{ stored: number; alreadyPresent: number }>;
}

/** The upload protocol of UploadBlobs: each blob's chunks in order from offset 0, one blob after another. */
export class ChunkedUpload implements BlobUpload {
  private current: { digest: Digest; temp: TempBlob } | undefined;
  private readonly verified: TempBlob[] = [];
  private readonly blobs: VerifiedBlob[] = [];
  private reservedBytes = 0;
  private closed = false;

  constructor(
    private readonly target: UploadTarget,
    private readonly scope: string,
  ) {}

  async chunk(digest: Digest, offset: number, data: Uint8Array): Promise<void> {
    if (this.closed) throw new Error("chunk() after the upload was committed or aborted");
    try {
      await this.accept(digest, offset, data);
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  private async accept(digest: Digest, offset: number, data: Uint8Array): Promise<void> {
    const name = digestName(digest);
    let current = this.current;
    if (current && !sameDigest(current.digest, digest)) {
      const { digest: open, temp } = current;
      throw invalidArgument(
        "digest",
        `${name} starts before ${digestName(open)} is complete (${temp.written} of ${open.sizeBytes} bytes); send one blob's chunks after another`,
      );
    }
    if (!current) {
      if (offset !== 0) throw invalidArgument("offset", `${name}: a blob's first chunk is at offset 0, got ${offset}`);
      await this.target.reserve(digest);
      this.reservedBytes += digest.sizeBytes;
      current = this.current = { digest, temp: await TempBlob.create(this.target.tmpDir) };
    }
    const { temp } = current;
    if (offset !== temp.written) {
      throw invalidArgument(
        "offset",
        `${name}: expected the chunk at offset ${temp.written}, got ${offset} (${offset > temp.written ? "a gap" : "an overlap"})`,
      );
    }
    if (offset + data.length > digest.sizeBytes) {
      throw invalidArgument("digest", `${name}: a chunk ends at ${offset + data.length}, past the blob's size`);
    }
    await temp.write(data);
    if (temp.written < digest.sizeBytes) return;
    const sha256 = await temp.close();
    if (sha256 !== digest.sha256) {
      throw invalidArgument("digest", `${name}: its content's sha256 is ${sha256}; nothing of this call was stored`);
    }
    this.current = undefined;
    this.verified.push(temp);
    this.blobs.push({ digest, tmpPath: temp.path });
  }

  async commit(): Promise<{ stored: number; alreadyPresent: number }> {
    if (this.closed) throw new Error("commit() after the upload was committed or aborted");
    const current = this.current;
    if (current) {
      await this.abort();
      throw invalidArgument(
        "digest",
        `${digestName(current.digest)}: the call ended after ${current.temp.written} of its ${current.digest.sizeBytes} bytes; nothing of this call was stored`,
      );
    }
    this.closed = true;
    return this.target.adopt(this.scope, this.blobs);
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const temps = this.current ? [...this.verified, this.current.temp] : this.verified;
    this.current = undefined;
    this.target.release(this.reservedBytes);
    await Promise.all(temps.map((temp) => temp.discard()));
  }
}
