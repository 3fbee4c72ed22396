import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { WorkerServiceClient, type ReadArtifactResponse } from "@opencode-worker/shared";
import { startTestWorker, type TestWorker } from "./harness.js";

/*
 * Artifacts up to session.artifact_inline_bytes stay in memory with the job, larger ones are copied
 * to the worker's store: a job's 10,000 small files must not cost 10,000 files on the worker's disk.
 * Nothing else may tell the two apart: ReadArtifact's messages and the retention budget are the same.
 */
const INLINE_BYTES = 100_000;
/** ReadArtifact's chunk size (server/worker-service.ts). */
const CHUNK_BYTES = 64 * 1024;
const HELD = { path: "held.bin", size: INLINE_BYTES };
const STORED = { path: "stored.bin", size: INLINE_BYTES + 1 };

let t: TestWorker;
let plain: WorkerServiceClient;
let jobId: string;
let sessionId: string;
/** What both files hold: the start of `seq 1 100000`. */
let expected: Buffer;

beforeAll(async () => {
  t = await startTestWorker({ session: { artifact_inline_bytes: INLINE_BYTES } });
  plain = new WorkerServiceClient(t.worker.address, credentials.createInsecure());
  const result = await t.client.run({
    command: `cd "$OPENCODE_OUTPUT_DIR" && seq 1 100000 | head -c ${HELD.size} > ${HELD.path} && seq 1 100000 | head -c ${STORED.size} > ${STORED.path}`,
  });
  ({ jobId, sessionId } = result);
  expected = Buffer.from(Array.from({ length: 100_000 }, (_, index) => `${index + 1}\n`).join("")).subarray(0, STORED.size);
}, 60_000);
afterAll(async () => {
  plain.close();
  await t.stop();
});

/** One ReadArtifact call as the wire carries it: every message, or the error's code and field. */
function readArtifact(path: string, offset: number, length: number): Promise<ReadArtifactResponse[] | { code: number; field: string }> {
  return new Promise((resolve) => {
    const responses: ReadArtifactResponse[] = [];
    const call = plain.readArtifact({ jobId, path, offset: String(offset), length: String(length) });
    call.on("data", (response: ReadArtifactResponse) => responses.push(response));
    call.on("error", (error: ServiceError) => resolve({ code: error.code, field: error.details.split(":")[0] ?? "" }));
    call.on("end", () => resolve(responses));
  });
}

/** The messages a read of [offset, offset + length) of a `size`-byte artifact must give: 64 KiB chunks from offset. */
function expectedMessages(size: number, offset: number, length: number): { offset: number; data: Buffer; totalSizeBytes: number }[] {
  const end = length > 0 ? Math.min(size, offset + length) : size;
  if (end === offset) return [{ offset, data: Buffer.alloc(0), totalSizeBytes: size }];
  const messages = [];
  for (let at = offset; at < end; at += CHUNK_BYTES)
    messages.push({ offset: at, data: expected.subarray(at, Math.min(end, at + CHUNK_BYTES)), totalSizeBytes: size });
  return messages;
}

describe("artifacts held in memory and stored ones", () => {
  it("stores only the artifacts larger than session.artifact_inline_bytes", async () => {
    const result = await t.client.job(jobId).then((job) => job.collect());
    expect(result.artifacts.map((artifact) => [artifact.path, artifact.sizeBytes, artifact.content !== undefined])).toEqual([
      [HELD.path, HELD.size, true],
      [STORED.path, STORED.size, false],
    ]);
    // Named by position in the result: stored.bin is the second.
    expect(await readdir(join(t.worker.config.session.baseDir, ".results", sessionId))).toEqual(["1"]);
  });

  it("serves both through ReadArtifact with the same messages: offsets, 64 KiB chunks, sizes and errors", async () => {
    const reads: [number, number][] = [
      [0, 0],
      [1000, 0],
      [CHUNK_BYTES, 10],
      [0, CHUNK_BYTES + 1],
      [INLINE_BYTES - 10, 0],
      [INLINE_BYTES, 0],
    ];
    for (const { path, size } of [HELD, STORED]) {
      for (const [offset, length] of reads)
        expect([path, offset, length, await readArtifact(path, offset, length)]).toEqual([
          path,
          offset,
          length,
          expectedMessages(size, offset, length),
        ]);
      expect(await readArtifact(path, size + 1, 0)).toEqual({ code: 3, field: "offset" });
    }
  });

  it("counts both against session.result_budget_bytes", async () => {
    expect((await t.client.metrics()).retainedResultBytes).toBe(HELD.size + STORED.size);
  });
});
