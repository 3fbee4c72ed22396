/**
 * Cancellation: an AbortSignal or a `break` out of `for await` cancels the gRPC call (the server sees
 * 'cancelled'), and run() cancels the job it alone holds.
 */
import { describe, expect, it } from "@jest/globals";
import * as wire from "@opencode-worker/shared";
import { cancelledBy, dispatchEcho, scriptedEvents, scriptedSetup, within } from "./scripted-worker.js";

const { start, clientOf } = scriptedSetup();

describe("run()", () => {
  it("cancels the job when the caller aborts, since nobody else holds a handle", async () => {
    const cancelled: string[] = [];
    const worker = await start({
      dispatch: dispatchEcho,
      collect: () => undefined, // the job runs on and on
      cancel: (call, callback) => {
        cancelled.push(call.request.jobId);
        callback(null, { state: wire.JobState.JOB_STATE_CANCELLED, cancelled: true });
      },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await clientOf(worker)
      .run({ jobId: "abandoned", command: "sleep 100" }, { signal: controller.signal })
      .catch((caught: unknown) => caught);
    expect((error as Error).name).toBe("AbortError");
    expect(cancelled).toEqual(["abandoned"]);
  });
});

describe("events()", () => {
  it("cancels the server call when the caller breaks out of for await", async () => {
    const events = scriptedEvents("job-1", [{ stream: "stdout", text: "a" }]);
    let serverCancelled: Promise<void> | undefined;
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: (call) => {
        serverCancelled = cancelledBy(call);
        call.write({ event: events[0] });
        call.write({ event: events[1] }); // then the job runs on: the stream stays open
      },
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "sleep 100" });

    for await (const event of job.events()) {
      expect(event.type).toBe("accepted");
      break;
    }

    await within(serverCancelled ?? Promise.reject(new Error("no stream opened")), "the server to see 'cancelled'");
  });

  it("ends with an AbortError when the signal fires, and cancels the server call", async () => {
    const events = scriptedEvents("job-1", []);
    let serverCancelled: Promise<void> | undefined;
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: (call) => {
        serverCancelled = cancelledBy(call);
        call.write({ event: events[0] });
      },
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "sleep 100" });
    const controller = new AbortController();
    const reason = new Error("enough");

    const error = await (async () => {
      for await (const event of job.events({ signal: controller.signal })) {
        if (event.type === "accepted") controller.abort(reason);
      }
    })().catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: "AbortError", cause: reason, jobId: "job-1" });
    await within(serverCancelled ?? Promise.reject(new Error("no stream opened")), "the server to see 'cancelled'");
  });
});

describe("AbortSignal on unary calls", () => {
  it("cancels the call: the caller gets an AbortError, the server sees 'cancelled'", async () => {
    let serverCancelled: Promise<void> | undefined;
    const controller = new AbortController();
    const reason = new Error("user gave up");
    const worker = await start({
      status: (call) => {
        serverCancelled = cancelledBy(call); // never answers
        // Aborted once the call has arrived: a timer could fire before a loaded machine connects.
        controller.abort(reason);
      },
    });

    const error = await clientOf(worker)
      .job("job-1", { signal: controller.signal })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: "AbortError", cause: reason, code: "CANCELLED" });
    await within(serverCancelled ?? Promise.reject(new Error("no call arrived")), "the server to see 'cancelled'");
  });

  it("does not call at all with a signal that already fired", async () => {
    let calls = 0;
    const worker = await start({
      getMetrics: (_call, callback) => {
        calls += 1;
        callback(null, wire.GetMetricsResponse.create({}));
      },
    });
    await expect(clientOf(worker).metrics({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(calls).toBe(0);
  });
});

describe("onStdout() / onStderr()", () => {
  it("cancels the stream on unsubscribe", async () => {
    const events = scriptedEvents("job-1", [{ stream: "stdout", text: "a" }]);
    let serverCancelled: Promise<void> | undefined;
    const worker = await start({
      dispatch: dispatchEcho,
      streamJob: (call) => {
        serverCancelled = cancelledBy(call);
        call.write({ event: events[1] }); // then the job runs on
      },
    });
    const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "sleep 100" });
    const errors: unknown[] = [];
    let unsubscribe = (): void => undefined;
    await within(
      new Promise<void>((resolve) => {
        unsubscribe = job.onStdout(() => resolve(), { onError: (error) => errors.push(error) });
      }),
      "the first chunk",
    );
    unsubscribe();
    await within(serverCancelled ?? Promise.reject(new Error("no stream opened")), "the server to see 'cancelled'");
    expect(errors).toEqual([]);
  });
});
