import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { context, propagation, trace, type SpanContext } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { pino } from "pino";
import { startTestWorker } from "../harness.js";

/** A span as OTLP/HTTP JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status?: { code?: number; message?: string };
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

interface OtlpRequest {
  resourceSpans: { resource: { attributes: OtlpSpan["attributes"] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** OTLP's STATUS_CODE_ERROR. */
const STATUS_ERROR = 2;

/** A collector's OTLP/HTTP traces endpoint: keeps every request it receives, and answers `status`. */
async function startCollector(status = 200): Promise<{ url: string; requests: OtlpRequest[]; close(): Promise<void> }> {
  const requests: OtlpRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push(JSON.parse(Buffer.concat(chunks).toString()) as OtlpRequest);
      response.writeHead(status, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const spansOf = (requests: OtlpRequest[]): OtlpSpan[] =>
  requests.flatMap((request) => request.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)));

const attribute = (span: OtlpSpan, key: string): string | number | undefined => {
  const value = span.attributes?.find((entry) => entry.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

/** The application's own OpenTelemetry, as a master using the SDK would register it. */
function registerCallerTracing(): void {
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** Runs `work` inside a span of the caller's and returns that span's context. */
async function inCallerSpan(work: () => Promise<unknown>): Promise<SpanContext> {
  return trace.getTracer("test").startActiveSpan("caller", async (span) => {
    try {
      await work();
    } finally {
      span.end();
    }
    return span.spanContext();
  });
}

const PHASES = ["init", "prepare", "execute", "collect", "destroy"];

describe("OpenTelemetry spans of jobs", () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  beforeAll(async () => {
    collector = await startCollector();
    registerCallerTracing();
  });
  afterAll(async () => {
    trace.disable();
    propagation.disable();
    context.disable();
    await collector.close();
  });
  afterEach(() => void collector.requests.splice(0));

  it("exports a job span under the caller's span, with its phases as children, and ERROR for a failed job", async () => {
    const t = await startTestWorker({ tracing: { exporter: "otlp", endpoint: collector.url, service_name: "tracing-test" } });
    let finished: SpanContext;
    let failed: SpanContext;
    try {
      finished = await inCallerSpan(() => t.client.run({ jobId: "traced-finished", command: "echo ok" }));
      // StreamJob dispatches in the same call: it carries the trace context too.
      failed = await inCallerSpan(async () => {
        for await (const event of t.client.stream({ jobId: "traced-failed", command: "exit 3" })) void event;
      });
    } finally {
      // Stopping exports what the batch still holds.
      await t.stop();
    }

    const spans = spansOf(collector.requests);
    expect(collector.requests[0]?.resourceSpans[0]?.resource.attributes).toContainEqual({
      key: "service.name",
      value: { stringValue: "tracing-test" },
    });
    const jobSpan = (jobId: string): OtlpSpan => {
      const span = spans.find((candidate) => candidate.name === "job" && attribute(candidate, "job.id") === jobId);
      if (!span) throw new Error(`no job span for ${jobId} among ${spans.map((candidate) => candidate.name).join(", ")}`);
      return span;
    };

    const ok = jobSpan("traced-finished");
    expect(ok).toMatchObject({ traceId: finished.traceId, parentSpanId: finished.spanId });
    expect(ok.status?.code ?? 0).not.toBe(STATUS_ERROR);
    expect(attribute(ok, "job.state")).toBe("finished");
    expect(attribute(ok, "job.exit_code")).toBe(0);
    expect(attribute(ok, "job.session_id")).toEqual(expect.any(String));
    expect(attribute(ok, "job.isolation")).toEqual(expect.any(String));
    const children = spans.filter((span) => span.parentSpanId === ok.spanId);
    expect(children.map((span) => span.name).sort()).toEqual([...PHASES].sort());
    for (const child of children) {
      expect(child.traceId).toBe(finished.traceId);
      expect(BigInt(child.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(child.startTimeUnixNano));
      expect(BigInt(child.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(ok.startTimeUnixNano));
    }

    const bad = jobSpan("traced-failed");
    expect(bad).toMatchObject({ traceId: failed.traceId, parentSpanId: failed.spanId, status: { code: STATUS_ERROR } });
    expect(attribute(bad, "job.state")).toBe("failed");
    expect(attribute(bad, "job.reason")).toBe("exited");
    expect(attribute(bad, "job.exit_code")).toBe(3);
  }, 60_000);

  it("sends nothing with tracing.exporter=none, and jobs sent with a trace context run as ever", async () => {
    const t = await startTestWorker({ tracing: { exporter: "none", endpoint: collector.url } });
    try {
      await inCallerSpan(async () => {
        const result = await t.client.run({ jobId: "untraced", command: "echo ok" });
        expect(result.exitCode).toBe(0);
      });
    } finally {
      await t.stop();
    }
    expect(collector.requests).toEqual([]);
  }, 60_000);

  it("logs a WARN line when the collector refuses the spans", async () => {
    const refusing = await startCollector(400);
    const warnings: { msg: string; endpoint?: string }[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) });
    const t = await startTestWorker({ tracing: { exporter: "otlp", endpoint: refusing.url } }, { logger });
    try {
      await t.client.run({ jobId: "refused-spans", command: "echo ok" });
    } finally {
      await t.stop();
      await refusing.close();
    }
    expect(refusing.requests.length).toBeGreaterThan(0);
    expect(warnings).toContainEqual(expect.objectContaining({ msg: "tracing: spans not exported", endpoint: refusing.url }));
  }, 60_000);
});
