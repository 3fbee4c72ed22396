import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { OutputStream, WorkerServiceClient, type JobEvent, type JobResult, type ReadOutputResponse } from "@opencode-worker/shared";
import { eventually, startTestWorker, type TestWorker } from "./harness.js";

/*
 * A job whose output and artifacts are far larger than one gRPC message: every response must still
 * reach a client with gRPC's default 4 MiB receive limit, and every byte stay readable.
 */
const MiB = 1024 * 1024;
const OUTPUT_BYTES = 8 * MiB;
const ARTIFACTS = 400;
const ARTIFACT_BYTES = 60_000;

/** What the job prints: deterministic, so the test knows every byte (`seq` cut by `head`). */
function seqText(from: number, to: number, step: number): Buffer {
  const lines: string[] = [];
  for (let n = from; step > 0 ? n <= to : n >= to; n += step) lines.push(String(n));
  return Buffer.from(`${lines.join("\n")}\n`).subarray(0, OUTPUT_BYTES);
}
const EXPECTED_STDOUT = seqText(1, 2_000_000, 1);
const EXPECTED_STDERR = seqText(2_000_000, 1, -1);
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

const COMMAND = [
  `seq 1 2000000 | head -c ${OUTPUT_BYTES}`,
  `seq 2000000 -1 1 | head -c ${OUTPUT_BYTES} >&2`,
  // One awk writes all the artifacts: each small enough to travel inline on its own.
  `cd "$OPENCODE_OUTPUT_DIR" && awk 'BEGIN { s = "x"; while (length(s) < ${ARTIFACT_BYTES}) s = s s; s = substr(s, 1, ${ARTIFACT_BYTES}); for (i = 1; i <= ${ARTIFACTS}; i++) { f = "file-" i ".txt"; printf "%s", s > f; close(f) } }'`,
].join("; ");

let t: TestWorker;
/** A plain grpc-js client with default options: a 4 MiB receive limit. */
let plain: WorkerServiceClient;
let jobId: string;
beforeAll(async () => {
  // stdout plus stderr is 16 MiB, the default output limit: raise it so the job ends by itself.
  t = await startTestWorker({ governance: { default_max_output_bytes: 64 * MiB } });
  plain = new WorkerServiceClient(t.worker.address, credentials.createInsecure());
  const handle = await t.client.dispatch({ command: COMMAND });
  jobId = handle.jobId;
  // Status, not a result: each test below gets the result its own way.
  await eventually(async () => (await handle.status()).ended, 100_000);
}, 120_000);
afterAll(async () => {
  plain.close();
  await t.stop();
});

function collectPlain(): Promise<JobResult> {
  return new Promise((resolve, reject) =>
    plain.collect({ jobId, wait: true }, (error: ServiceError | null, response) => (error ? reject(error) : resolve(response!.result!))),
  );
}

function readOutputPlain(stream: OutputStream, offset: number): Promise<ReadOutputResponse[]> {
  return new Promise((resolve, reject) => {
    const responses: ReadOutputResponse[] = [];
    const call = plain.readOutput({ jobId, stream, offset: String(offset) });
    call.on("data", (response: ReadOutputResponse) => responses.push(response));
    call.on("error", reject);
    call.on("end", () => resolve(responses));
  });
}

describe("a result larger than one gRPC message", () => {
  it("is collected by a client with the default 4 MiB limit, and says what is where", async () => {
    const result = await collectPlain();
    expect(JSON.stringify({ state: result.state, message: result.message })).toContain("exited with code 0");
    expect(result.stdout.length + result.stderr.length).toBeGreaterThan(2 * MiB);
    expect(result.stdout.equals(EXPECTED_STDOUT.subarray(0, result.stdout.length))).toBe(true);
    expect(result.stderr.equals(EXPECTED_STDERR.subarray(0, result.stderr.length))).toBe(true);
    expect(result).toMatchObject({
      stdoutTotalBytes: OUTPUT_BYTES,
      stdoutRetainedBytes: OUTPUT_BYTES,
      stdoutTruncated: false,
      stderrTotalBytes: OUTPUT_BYTES,
      stderrRetainedBytes: OUTPUT_BYTES,
      stderrTruncated: false,
      unlistedArtifacts: 0,
    });
    expect(result.artifacts).toHaveLength(ARTIFACTS);
  });

  it("ends StreamJob with its completed event for such a client", async () => {
    const events: JobEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = plain.streamJob({ target: { $case: "jobId", value: jobId }, afterSeq: "0" });
      call.on("data", ({ event }: { event: JobEvent }) => events.push(event));
      call.on("error", reject);
      call.on("end", resolve);
    });
    const last = events.at(-1)?.kind;
    expect(last?.$case).toBe("completed");
    // The replayed output events carry every retained byte as well.
    const replayed = (stream: OutputStream) =>
      Buffer.concat(
        events.flatMap((event) => (event.kind?.$case === "output" && event.kind.value.stream === stream ? [event.kind.value.data] : [])),
      );
    expect(sha256(replayed(OutputStream.OUTPUT_STREAM_STDOUT))).toBe(sha256(EXPECTED_STDOUT));
  });

  it("serves every retained byte through ReadOutput, in chunks with their offsets", async () => {
    const result = await collectPlain();
    for (const [stream, head, expected] of [
      [OutputStream.OUTPUT_STREAM_STDOUT, result.stdout, EXPECTED_STDOUT],
      [OutputStream.OUTPUT_STREAM_STDERR, result.stderr, EXPECTED_STDERR],
    ] as const) {
      const responses = await readOutputPlain(stream, head.length);
      let offset = head.length;
      for (const response of responses) {
        expect(response).toMatchObject({ offset, retainedBytes: OUTPUT_BYTES, totalBytes: OUTPUT_BYTES });
        offset += response.data.length;
      }
      expect(sha256(Buffer.concat([head, ...responses.map((response) => response.data)]))).toBe(sha256(expected));
      // From 0 it is the whole stream again.
      const whole = Buffer.concat((await readOutputPlain(stream, 0)).map((response) => response.data));
      expect(sha256(whole)).toBe(sha256(expected));
    }
  });

  it("answers a read at the end with the sizes and no data, and one past it with INVALID_ARGUMENT", async () => {
    const atEnd = await readOutputPlain(OutputStream.OUTPUT_STREAM_STDOUT, OUTPUT_BYTES);
    expect(atEnd).toEqual([expect.objectContaining({ offset: OUTPUT_BYTES, retainedBytes: OUTPUT_BYTES, data: Buffer.alloc(0) })]);
    const error = (await readOutputPlain(OutputStream.OUTPUT_STREAM_STDOUT, OUTPUT_BYTES + 1).catch(
      (caught: unknown) => caught,
    )) as ServiceError;
    expect([error.code, error.details.split(":")[0]]).toEqual([3, "offset"]);
    const badStream = (await readOutputPlain(OutputStream.OUTPUT_STREAM_UNSPECIFIED, 0).catch((caught: unknown) => caught)) as ServiceError;
    expect([badStream.code, badStream.details.split(":")[0]]).toEqual([3, "stream"]);
  });

  it("is returned whole by the SDK, which keeps gRPC's default receive limit", async () => {
    const handle = await t.client.job(jobId);
    const result = await handle.wait();
    expect(sha256(result.stdout)).toBe(sha256(EXPECTED_STDOUT));
    expect(sha256(result.stderr)).toBe(sha256(EXPECTED_STDERR));
    expect([result.stdoutTruncated, result.stderrTruncated]).toEqual([false, false]);
    expect(sha256(await streamToBuffer(handle.readOutput("stderr")))).toBe(sha256(EXPECTED_STDERR));

    const head = await handle.collect({ fullOutput: false });
    expect(head.stdout.length).toBeLessThan(OUTPUT_BYTES);
    expect([head.stdoutTruncated, head.stdoutRetainedBytes]).toEqual([true, OUTPUT_BYTES]);
  });

  it("counts all it keeps on the worker, not only what travels inline, against session.result_budget_bytes", async () => {
    const metrics = await t.client.metrics();
    expect(metrics.retainedResultBytes).toBe(2 * OUTPUT_BYTES + ARTIFACTS * ARTIFACT_BYTES);
  });

  it("travels through buf curl, whose receive limit is gRPC's default", async () => {
    const BUF = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));
    const { stdout } = await promisify(execFile)(
      BUF,
      [
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        `http://${t.worker.address}/opencode.worker.v1.WorkerService/Collect`,
        "-d",
        JSON.stringify({ job_id: jobId }),
      ],
      { timeout: 60_000, maxBuffer: 64 * MiB },
    );
    const result = (JSON.parse(stdout) as { result: { stdoutRetainedBytes: string; artifacts: unknown[] } }).result;
    expect(result.stdoutRetainedBytes).toBe(String(OUTPUT_BYTES));
    expect(result.artifacts).toHaveLength(ARTIFACTS);
  });
});

async function streamToBuffer(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
