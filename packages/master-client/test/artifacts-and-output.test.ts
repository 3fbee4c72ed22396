/**
 * Artifacts and output too large for a result: read in chunks, resumed from the byte after the last
 * one received when a stream drops.
 */
import { describe, expect, it } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import * as wire from "@opencode-worker/shared";
import { InvalidArgumentError } from "../src/index.js";
import { dispatchEcho, finishedResult, grpcError, scriptedSetup, type ScriptedWorker } from "./scripted-worker.js";

const { start, clientOf } = scriptedSetup();

describe("readArtifact()", () => {
  const content = Buffer.from("0123456789abcdefghij");

  async function artifactWorker(requests: { offset: number; length: number }[]): Promise<ScriptedWorker> {
    return start({
      dispatch: dispatchEcho,
      readArtifact: (call) => {
        const offset = Number(call.request.offset);
        const length = Number(call.request.length);
        requests.push({ offset, length });
        const end = length === 0 ? content.length : Math.min(content.length, offset + length);
        for (let at = offset, chunk = 0; at < end; at += 4, chunk += 1) {
          // The first call breaks after two chunks, like a connection reset mid-transfer.
          if (requests.length === 1 && chunk === 2) {
            call.emit("error", grpcError(status.UNAVAILABLE, "connection reset"));
            return;
          }
          call.write({ offset: at, data: content.subarray(at, Math.min(end, at + 4)), totalSizeBytes: content.length });
        }
        call.end();
      },
    });
  }

  it("resumes from the byte after the last one received", async () => {
    const requests: { offset: number; length: number }[] = [];
    const worker = await artifactWorker(requests);
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "true" });
    expect(await job.readArtifactBuffer("out/data.txt")).toEqual(content);
    expect(requests).toEqual([
      { offset: 0, length: 0 },
      { offset: 8, length: 0 },
    ]);
  });

  it("asks only for what is left of a range", async () => {
    const requests: { offset: number; length: number }[] = [];
    const worker = await artifactWorker(requests);
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "true" });
    const chunks: Buffer[] = [];
    for await (const chunk of job.readArtifact("out/data.txt", { offset: 2, length: 10 })) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("23456789ab");
    expect(requests).toEqual([
      { offset: 2, length: 10 },
      { offset: 10, length: 2 },
    ]);
  });
});

describe("output beyond the head a result carries", () => {
  const stdout = Buffer.from("0123456789abcdefghij");
  const STDOUT = wire.OutputStream.OUTPUT_STREAM_STDOUT;

  async function outputWorker(requests: { stream: wire.OutputStream; offset: number }[]): Promise<ScriptedWorker> {
    const head = finishedResult("job-1", {
      stdout: stdout.subarray(0, 6),
      stdoutRetainedBytes: stdout.length,
      stdoutTotalBytes: stdout.length,
    });
    return start({
      dispatch: dispatchEcho,
      collect: (_call, callback) => callback(null, { result: head }),
      readOutput: (call) => {
        const offset = Number(call.request.offset);
        requests.push({ stream: call.request.stream, offset });
        for (let at = offset, chunk = 0; at < stdout.length; at += 4, chunk += 1) {
          // The first call breaks after two chunks, like a connection reset mid-transfer.
          if (requests.length === 1 && chunk === 2) {
            call.emit("error", grpcError(status.UNAVAILABLE, "connection reset"));
            return;
          }
          call.write({ offset: at, data: stdout.subarray(at, at + 4), retainedBytes: stdout.length, totalBytes: stdout.length });
        }
        call.end();
      },
    });
  }

  it("is read by wait() with ReadOutput from the end of the head, resumed after a dropped stream", async () => {
    const requests: { stream: wire.OutputStream; offset: number }[] = [];
    const worker = await outputWorker(requests);
    const result = await (await clientOf(worker).dispatch({ jobId: "job-1", command: "true" })).wait();
    expect(result.stdout).toEqual(stdout);
    expect([result.stdoutTruncated, result.stdoutRetainedBytes]).toEqual([false, stdout.length]);
    expect(requests).toEqual([
      { stream: STDOUT, offset: 6 },
      { stream: STDOUT, offset: 14 },
    ]);
  });

  it("stays on the worker with fullOutput: false, and readOutput() reads it", async () => {
    const requests: { stream: wire.OutputStream; offset: number }[] = [];
    const worker = await outputWorker(requests);
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "true" });
    const result = await job.collect({ fullOutput: false });
    expect([result.stdout.toString(), result.stdoutTruncated]).toEqual(["012345", true]);
    expect(requests).toEqual([]);
    const chunks: Buffer[] = [];
    for await (const chunk of job.readOutput("stdout", { offset: result.stdout.length })) chunks.push(chunk as Buffer);
    expect(Buffer.concat([result.stdout, ...chunks])).toEqual(stdout);
  });

  it("refuses a fullOutput that is not a boolean before any call", async () => {
    const requests: { stream: wire.OutputStream; offset: number }[] = [];
    const worker = await outputWorker(requests);
    const client = clientOf(worker);
    await expect(client.run({ command: "true" }, { fullOutput: "yes" as unknown as boolean })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
