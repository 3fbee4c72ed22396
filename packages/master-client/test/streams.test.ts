/**
 * Job event streams: resume after a dropped stream with nothing missing or repeated, attach after a
 * seq, per-stream listeners, and stream() dispatching in the same call.
 */
import { describe, expect, it } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import * as wire from "@opencode-worker/shared";
import { dispatchEcho, grpcError, replayAfterSeq, scriptedEvents, scriptedSetup, within } from "./scripted-worker.js";

const { start, clientOf, defer } = scriptedSetup();

describe("events()", () => {
  it("resumes after a stream fails UNAVAILABLE mid-way, with nothing missing or repeated", async () => {
    const events = scriptedEvents("job-1", [
      { stream: "stdout", text: "a" },
      { stream: "stdout", text: "b" },
      { stream: "stderr", text: "c" },
      { stream: "stdout", text: "d" },
    ]);
    const attaches: { afterSeq: number; target: string | undefined }[] = [];
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: (call) => {
        const afterSeq = Number(call.request.afterSeq);
        attaches.push({ afterSeq, target: call.request.target?.$case });
        const pending = events.filter((event) => event.seq > afterSeq);
        if (attaches.length === 1) {
          for (const event of pending.slice(0, 3)) call.write({ event });
          call.emit("error", grpcError(status.UNAVAILABLE, "connection reset"));
          return;
        }
        for (const event of pending) call.write({ event });
        call.end();
      },
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "echo" });

    const seen: number[] = [];
    const output: string[] = [];
    for await (const event of job.events()) {
      seen.push(event.seq);
      if (event.type === "output") output.push(event.data.toString());
    }

    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(output).toEqual(["a", "b", "c", "d"]);
    expect(attaches).toEqual([
      { afterSeq: 0, target: "jobId" },
      { afterSeq: 3, target: "jobId" },
    ]);
  });

  it("starts after afterSeq when asked", async () => {
    const events = scriptedEvents("job-1", [{ stream: "stdout", text: "a" }]);
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: replayAfterSeq(events),
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "echo" });
    const types: string[] = [];
    for await (const event of job.events({ afterSeq: 2 })) types.push(event.type);
    expect(types).toEqual(["completed"]);
  });
});

describe("onStdout() / onStderr()", () => {
  it("delivers each stream's chunks to its own listeners", async () => {
    const events = scriptedEvents("job-1", [
      { stream: "stdout", text: "a" },
      { stream: "stderr", text: "x" },
      { stream: "stdout", text: "b" },
    ]);
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: replayAfterSeq(events),
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "echo" });
    const stdout: string[] = [];
    const stderr: string[] = [];
    const unsubscribes: (() => void)[] = [];
    defer(() => unsubscribes.forEach((unsubscribe) => unsubscribe()));
    await within(
      new Promise<void>((resolve) => {
        unsubscribes.push(
          job.onStdout((chunk) => {
            stdout.push(chunk.toString());
            if (stdout.length === 2) resolve();
          }),
        );
      }),
      "stdout",
    );
    await within(
      new Promise<void>((resolve) => {
        unsubscribes.push(
          job.onStderr((chunk) => {
            stderr.push(chunk.toString());
            resolve();
          }),
        );
      }),
      "stderr",
    );
    expect([stdout, stderr]).toEqual([["a", "b"], ["x"]]);
  });
});

describe("stream()", () => {
  it("dispatches with the spec and a job id chosen up front", async () => {
    const targets: (wire.StreamJobRequest["target"] | undefined)[] = [];
    const worker = await start({
      streamJob: (call) => {
        targets.push(call.request.target);
        const jobId = call.request.target?.$case === "spec" ? call.request.target.value.jobId : "";
        for (const event of scriptedEvents(jobId, [{ stream: "stdout", text: "hi" }])) call.write({ event });
        call.end();
      },
    });
    const stream = clientOf(worker).stream({ command: "echo hi" });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual(["accepted", "output", "completed"]);
    expect(targets).toHaveLength(1);
    expect(targets[0]?.$case === "spec" && targets[0].value.jobId).toBe(stream.jobId);
    expect(stream.jobId).toMatch(wire.JOB_ID_PATTERN);
  });
});
