/**
 * W3C trace context in call metadata: the caller's active span travels with every call when the
 * application registered OpenTelemetry, and nothing travels when it did not.
 */
import { afterEach, describe, expect, it } from "@jest/globals";
import type { Metadata } from "@grpc/grpc-js";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator, TraceState } from "@opentelemetry/core";
import { context, propagation, trace, TraceFlags } from "@opentelemetry/api";
import * as wire from "@opencode-worker/shared";
import { dispatchEcho, replayAfterSeq, scriptedEvents, scriptedSetup } from "./scripted-worker.js";

const { start, clientOf } = scriptedSetup();

/** The trace headers each call carried, by RPC. */
function recordingWorker(): {
  seen: { rpc: string; traceparent: unknown[]; tracestate: unknown[] }[];
  handlers: Partial<wire.WorkerServiceServer>;
} {
  const seen: { rpc: string; traceparent: unknown[]; tracestate: unknown[] }[] = [];
  const record = (rpc: string, metadata: Metadata): void => {
    seen.push({ rpc, traceparent: metadata.get("traceparent"), tracestate: metadata.get("tracestate") });
  };
  return {
    seen,
    handlers: {
      dispatch: (call, callback) => {
        record("dispatch", call.metadata);
        dispatchEcho(call, callback);
      },
      streamJob: (call) => {
        record("streamJob", call.metadata);
        replayAfterSeq(scriptedEvents("job-1", [{ stream: "stdout", text: "ok\n" }]))(call);
      },
    },
  };
}

/** Dispatch, then the job's stream to its end: one unary call and one server stream. */
async function runJob(worker: Awaited<ReturnType<typeof start>>): Promise<void> {
  const job = await clientOf(worker).dispatch({ jobId: "job-1", command: "echo ok" });
  for await (const event of job.events()) void event;
}

describe("trace context in call metadata", () => {
  afterEach(() => {
    propagation.disable();
    context.disable();
  });

  it("carries the active span's traceparent and tracestate on unary calls and streams", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const { seen, handlers } = recordingWorker();
    const worker = await start(handlers);
    const parent = {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: TraceFlags.SAMPLED,
      traceState: new TraceState("vendor=value"),
    };

    await context.with(trace.setSpanContext(context.active(), parent), () => runJob(worker));

    expect(seen.map((call) => call.rpc)).toEqual(["dispatch", "streamJob"]);
    for (const call of seen) {
      expect(call.traceparent).toEqual([`00-${parent.traceId}-${parent.spanId}-01`]);
      expect(call.tracestate).toEqual(["vendor=value"]);
    }
  });

  it("carries no trace metadata when the application registered no propagator", async () => {
    // A context manager alone: a span context is active, but the application asked for nothing to propagate.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const { seen, handlers } = recordingWorker();
    const worker = await start(handlers);
    const parent = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.SAMPLED };

    await context.with(trace.setSpanContext(context.active(), parent), () => runJob(worker));

    expect(seen.map((call) => call.rpc)).toEqual(["dispatch", "streamJob"]);
    for (const call of seen) expect(call).toMatchObject({ traceparent: [], tracestate: [] });
  });
});
