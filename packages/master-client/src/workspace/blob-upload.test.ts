import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { UploadBlobsRequest } from "@opencode-worker/shared";
import { MAX_UPLOAD_CHUNK_BYTES } from "@opencode-worker/shared";
import { uploadMessages } from "./blob-upload.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ocw-upload-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function source(name: string, content: Buffer): { path: string; sha256: string; size: number } {
  writeFileSync(join(dir, name), content);
  return { path: join(dir, name), sha256: createHash("sha256").update(content).digest("hex"), size: content.length };
}

async function messages(blobs: Parameters<typeof uploadMessages>[0]): Promise<UploadBlobsRequest[]> {
  const sent: UploadBlobsRequest[] = [];
  for await (const message of uploadMessages(blobs)) sent.push(message);
  return sent;
}

describe("uploadMessages", () => {
  it("sends each blob in chunks of at most 1 MiB, in order, and an empty blob as one empty chunk", async () => {
    const big = source("big", Buffer.alloc(MAX_UPLOAD_CHUNK_BYTES * 2 + 5, 7));
    const empty = source("empty", Buffer.alloc(0));
    const sent = await messages([big, empty]);
    expect(sent.map((m) => [m.digest?.sha256, m.offset, m.data.length])).toEqual([
      [big.sha256, "0", MAX_UPLOAD_CHUNK_BYTES],
      [big.sha256, String(MAX_UPLOAD_CHUNK_BYTES), MAX_UPLOAD_CHUNK_BYTES],
      [big.sha256, String(2 * MAX_UPLOAD_CHUNK_BYTES), 5],
      [empty.sha256, "0", 0],
    ]);
  });

  it("refuses a file that changed since it was hashed before sending its last chunk", async () => {
    const blob = source("f", Buffer.from("hashed"));
    writeFileSync(blob.path, "edited");
    const sent: UploadBlobsRequest[] = [];
    const error = await (async () => {
      for await (const message of uploadMessages([blob])) sent.push(message);
    })().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "FAILED_PRECONDITION", field: "blobs[0].path" });
    expect(sent).toEqual([]);
  });
});
