import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import {
  decodeStatusDetails,
  JobSpec,
  STATUS_DETAILS_KEY,
  WorkerServiceClient,
  type BlobDigest,
  type GetMetricsResponse,
  type JobResult,
  type UploadBlobsRequest,
  type UploadBlobsResponse,
} from "@opencode-worker/shared";
import type { BwrapDriver } from "../src/sandbox/bwrap/driver.js";
import { eventually, startTestWorker, type TestWorker } from "./harness.js";
import { freeUidBase } from "./isolation/sandbox-harness.js";
import { tokenLine } from "./support/certificates.js";
import { describeSandbox } from "./support/conditions.js";

/*
 * The three blob RPCs against a real worker with token authentication: what one caller uploads in
 * chunks it finds and reads back, a wrong digest stores nothing, and another caller sees none of it.
 */
let dir: string;
let t: TestWorker;
let raw: WorkerServiceClient;

const ALICE = "alice-token";
const BOB = "bob-token";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ocw-blobs-"));
  const tokenFile = join(dir, "tokens");
  await writeFile(tokenFile, tokenLine("alice", ALICE) + tokenLine("bob", BOB));
  // One slot of a uid range no other suite uses: every job runs on it, so both callers' jobs share the slot's workspace tree.
  t = await startTestWorker(
    { auth: { token_file: tokenFile }, worker: { concurrency: 1 }, security: { sandbox_uid_base: freeUidBase() } },
    { client: { token: ALICE } },
  );
  raw = new WorkerServiceClient(t.worker.address, credentials.createInsecure());
}, 60_000);
afterAll(async () => {
  raw.close();
  await t.stop();
  await rm(dir, { recursive: true, force: true });
});

const as = (token: string): Metadata => {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
};

function digestOf(content: Buffer): BlobDigest {
  return { sha256: createHash("sha256").update(content).digest("hex"), sizeBytes: String(content.length) };
}

/** Each blob's chunks of `chunkBytes`, in order, as UploadBlobs messages. */
function chunksOf(blobs: Array<{ digest: BlobDigest; content: Buffer }>, chunkBytes: number): UploadBlobsRequest[] {
  return blobs.flatMap(({ digest, content }) => {
    const chunks: UploadBlobsRequest[] = [];
    let offset = 0;
    do {
      chunks.push({ digest, offset: String(offset), data: content.subarray(offset, offset + chunkBytes) });
      offset += chunkBytes;
    } while (offset < content.length);
    return chunks;
  });
}

function upload(token: string, chunks: UploadBlobsRequest[]): Promise<UploadBlobsResponse> {
  return new Promise((resolve, reject) => {
    const call = raw.uploadBlobs(as(token), (error, response) => (error ? reject(error) : resolve(response!)));
    for (const chunk of chunks) call.write(chunk);
    call.end();
  });
}

function findMissing(token: string, blobs: BlobDigest[]): Promise<BlobDigest[]> {
  return new Promise((resolve, reject) =>
    raw.findMissingBlobs({ blobs }, as(token), (error, response) => (error ? reject(error) : resolve(response!.missing))),
  );
}

function readBlob(token: string, digest: BlobDigest, offset = 0): Promise<Array<{ offset: number; data: Buffer }>> {
  return new Promise((resolve, reject) => {
    const chunks: Array<{ offset: number; data: Buffer }> = [];
    const call = raw.readBlob({ digest, offset: String(offset) }, as(token));
    call.on("data", (chunk: { offset: number; data: Buffer }) => chunks.push(chunk));
    call.on("error", reject);
    call.on("end", () => resolve(chunks));
  });
}

function metrics(): Promise<GetMetricsResponse> {
  return new Promise((resolve, reject) => raw.getMetrics({}, as(ALICE), (error, response) => (error ? reject(error) : resolve(response!))));
}

async function refusal(call: Promise<unknown>): Promise<{ code: number; field: string | undefined }> {
  const error = (await call.then(
    () => {
      throw new Error("the call succeeded");
    },
    (failure: unknown) => failure,
  )) as ServiceError;
  const [details] = error.metadata.get(STATUS_DETAILS_KEY);
  return { code: error.code, field: decodeStatusDetails(details as Buffer)?.field };
}

describe("blob RPCs", () => {
  const big = randomBytes(200 * 1024 + 7);
  const small = Buffer.from("a small file\n");
  const bigDigest = digestOf(big);
  const smallDigest = digestOf(small);

  it("uploads blobs in chunks, after which FindMissingBlobs finds none and the metrics count them", async () => {
    const before = await metrics();
    expect(await findMissing(ALICE, [bigDigest, smallDigest, bigDigest])).toEqual([bigDigest, smallDigest]);
    const chunks = chunksOf(
      [
        { digest: bigDigest, content: big },
        { digest: smallDigest, content: small },
      ],
      64 * 1024,
    );
    expect(chunks).toHaveLength(5);
    expect(await upload(ALICE, chunks)).toEqual({ stored: 2, alreadyPresent: 0 });
    expect(await findMissing(ALICE, [bigDigest, smallDigest])).toEqual([]);
    const after = await metrics();
    expect(after.blobStoreBlobs - before.blobStoreBlobs).toBe(2);
    expect(after.blobStoreBytes - before.blobStoreBytes).toBe(big.length + small.length);
    expect(after.blobsUploadedTotal - before.blobsUploadedTotal).toBe(2);
    expect(after.blobBytesUploadedTotal - before.blobBytesUploadedTotal).toBe(big.length + small.length);
    const scrape = await (await fetch(t.worker.metricsUrl!)).text();
    expect(scrape).toMatch(new RegExp(`^opencode_worker_blob_bytes_uploaded_total ${after.blobBytesUploadedTotal}$`, "m"));
    expect(scrape).toMatch(new RegExp(`^opencode_worker_blob_store_blobs ${after.blobStoreBlobs}$`, "m"));
    // Again: nothing new is stored or counted.
    expect(await upload(ALICE, chunksOf([{ digest: smallDigest, content: small }], 1024))).toEqual({ stored: 0, alreadyPresent: 1 });
    expect((await metrics()).blobsUploadedTotal).toBe(after.blobsUploadedTotal);
  });

  it("reads a blob back in chunks of at most 64 KiB, from any offset", async () => {
    const chunks = await readBlob(ALICE, bigDigest);
    expect(Buffer.concat(chunks.map((chunk) => chunk.data)).equals(big)).toBe(true);
    expect(Math.max(...chunks.map((chunk) => chunk.data.length))).toBe(64 * 1024);
    expect(chunks.map((chunk) => chunk.offset)).toEqual([0, 65536, 131072, 196608]);
    const tail = await readBlob(ALICE, bigDigest, big.length - 10);
    expect(tail).toEqual([{ offset: big.length - 10, data: big.subarray(big.length - 10) }]);
    // At the end: one empty message.
    expect(await readBlob(ALICE, smallDigest, small.length)).toEqual([{ offset: small.length, data: Buffer.alloc(0) }]);
    expect(await refusal(readBlob(ALICE, smallDigest, small.length + 1))).toEqual({ code: status.INVALID_ARGUMENT, field: "offset" });
  });

  it("refuses a blob whose content does not match its digest, storing nothing of the call", async () => {
    const good = Buffer.from("good content, sent first");
    const bad = Buffer.from("content that is not what the digest says");
    const claimed = { ...digestOf(bad), sha256: digestOf(Buffer.from("something else")).sha256 };
    const chunks = chunksOf(
      [
        { digest: digestOf(good), content: good },
        { digest: claimed, content: bad },
      ],
      8,
    );
    const before = await metrics();
    expect(await refusal(upload(ALICE, chunks))).toEqual({ code: status.INVALID_ARGUMENT, field: "digest" });
    expect(await findMissing(ALICE, [digestOf(good), claimed])).toEqual([digestOf(good), claimed]);
    expect((await metrics()).blobStoreBlobs).toBe(before.blobStoreBlobs);
  });

  it("names a malformed digest of FindMissingBlobs by its index", async () => {
    const malformed = { sha256: "ABC", sizeBytes: "1" };
    expect(await refusal(findMissing(ALICE, [smallDigest, malformed]))).toEqual({
      code: status.INVALID_ARGUMENT,
      field: "blobs[1].sha256",
    });
  });

  it("refuses more than 100,000 digests at once, and a chunk of more than 1 MiB", async () => {
    const many = Array.from({ length: 100_001 }, () => smallDigest);
    expect(await refusal(findMissing(ALICE, many))).toEqual({ code: status.INVALID_ARGUMENT, field: "blobs" });
    const large = Buffer.alloc(1024 * 1024 + 1);
    const chunk = { digest: digestOf(large), offset: "0", data: large };
    expect(await refusal(upload(ALICE, [chunk]))).toEqual({ code: status.INVALID_ARGUMENT, field: "data" });
  });

  it("drops what a cancelled or refused upload sent", async () => {
    const tmp = join(t.worker.config.session.baseDir, "blobs", "tmp");
    const content = randomBytes(1024);
    const firstHalf = { digest: digestOf(content), offset: "0", data: content.subarray(0, 512) };
    const call = raw.uploadBlobs(as(ALICE), () => undefined);
    call.write(firstHalf);
    await eventually(async () => (await readdir(tmp)).length === 1);
    call.cancel();
    await eventually(async () => (await readdir(tmp)).length === 0);
    // Refused by the handler itself (a malformed digest), not by the store.
    const malformed = { ...firstHalf, digest: { sha256: "nope", sizeBytes: "1" } };
    expect(await refusal(upload(ALICE, [firstHalf, malformed]))).toEqual({ code: status.INVALID_ARGUMENT, field: "digest.sha256" });
    expect(await readdir(tmp)).toEqual([]);
    expect(await findMissing(ALICE, [digestOf(content)])).toEqual([digestOf(content)]);
  });

  it("keeps callers apart: another caller's blobs are missing and unreadable, and its uploads are its own", async () => {
    expect(await findMissing(BOB, [bigDigest, smallDigest])).toEqual([bigDigest, smallDigest]);
    expect(await refusal(readBlob(BOB, smallDigest))).toEqual({ code: status.NOT_FOUND, field: "digest" });
    const bobs = Buffer.from("bob's own file");
    expect(await upload(BOB, chunksOf([{ digest: digestOf(bobs), content: bobs }], 1024))).toEqual({ stored: 1, alreadyPresent: 0 });
    expect(await findMissing(ALICE, [digestOf(bobs)])).toEqual([digestOf(bobs)]);
    // The same content uploaded by each is stored for each.
    expect(await upload(BOB, chunksOf([{ digest: smallDigest, content: small }], 1024))).toEqual({ stored: 1, alreadyPresent: 0 });
  });
});

describeSandbox("a slot's workspace tree", () => {
  async function runAs(token: string, command: string, digest: BlobDigest): Promise<JobResult> {
    const workspace = { entries: [{ path: "a", digest, mode: 0o644, symlinkTarget: "" }], remoteOnly: [] };
    const jobId = await new Promise<string>((resolve, reject) =>
      raw.dispatch({ spec: JobSpec.fromPartial({ command, workspace }) }, as(token), (error, response) =>
        error ? reject(error) : resolve(response!.jobId),
      ),
    );
    return new Promise((resolve, reject) =>
      raw.collect({ jobId, wait: true }, as(token), (error, response) => (error ? reject(error) : resolve(response!.result!))),
    );
  }

  it("is rebuilt for another caller: a tree made of one caller's blobs never serves another's job", async () => {
    const content = Buffer.from(`the same content for both, ${Date.now()}\n`);
    const digest = digestOf(content);
    const copied: number[] = [];
    const uids = new Set<string>();
    for (const token of [ALICE, ALICE, BOB, BOB]) {
      await upload(token, chunksOf([{ digest, content }], 1024));
      const result = await runAs(token, "cat a", digest);
      expect(result.stdout.toString()).toBe(content.toString());
      const uid = /uid (\d+)/.exec(result.isolation)?.[1] ?? "";
      uids.add(uid);
      copied.push((t.worker.isolation.driver as BwrapDriver).slotTrees.get(Number(uid))!.lastCopied);
    }
    expect(uids.size).toBe(1);
    // Alice's repeat copies nothing; Bob's first job on the same slot gets a tree of his own blobs.
    expect(copied).toEqual([1, 0, 1, 0]);
  });
});
