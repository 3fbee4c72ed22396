import { defaultTextMapGetter, ROOT_CONTEXT, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import { ExportResultCode, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { JobState, type JobResult, type Phase } from "@opencode-worker/shared";
import type { WorkerConfig } from "../config/worker-config.js";
import type { Logger } from "../logging/logger.js";
import type { JobTrace, JobTracer, TraceParent } from "../session/job-trace.js";
import { WORKER_VERSION } from "../version.js";
import { phaseName, reasonName, stateName } from "./enum-names.js";

export interface WorkerTracing {
  readonly tracer: JobTracer;
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * The worker's OpenTelemetry tracing, or undefined with `tracing.exporter=none`: then no span is ever
 * made. The tracer provider is the worker's own, never registered as the global one, so several
 * workers in one process (tests, an embedding supervisor) keep their spans and settings apart; the
 * caller's context is read with a propagator of our own for the same reason.
 */
export function startTracing(settings: WorkerConfig["tracing"], workerId: string, log: Logger): WorkerTracing | undefined {
  if (settings.exporter === "none") return undefined;
  const exporter = reportingFailures(new OTLPTraceExporter({ url: settings.endpoint }), settings.endpoint, log);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": settings.serviceName, "service.instance.id": workerId }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("opencode-worker", WORKER_VERSION);
  // The last export's failure is already logged; a collector that is down must not fail the worker's stop.
  return { tracer: new OtelJobTracer(tracer), shutdown: () => provider.shutdown().catch(() => undefined) };
}

const propagator = new W3CTraceContextPropagator();

/** A span "job" from acceptance to the result, child of the caller's span when it sent one; a child span per phase. */
class OtelJobTracer implements JobTracer {
  constructor(private readonly tracer: Tracer) {}

  start(job: { jobId: string; sessionId: string }, parent: TraceParent): JobTrace {
    const callerContext = propagator.extract(ROOT_CONTEXT, parent, defaultTextMapGetter);
    const span = this.tracer.startSpan("job", { attributes: { "job.id": job.jobId, "job.session_id": job.sessionId } }, callerContext);
    const jobContext = trace.setSpan(ROOT_CONTEXT, span);
    return {
      phase: (phase: Phase) => {
        const phaseSpan = this.tracer.startSpan(phaseName(phase), {}, jobContext);
        return () => phaseSpan.end();
      },
      end: (result) => endJobSpan(span, result),
    };
  }
}

function endJobSpan(span: Span, result: JobResult | undefined): void {
  if (result) {
    span.setAttributes({
      "job.state": stateName(result.state),
      "job.reason": reasonName(result.reason),
      "job.exit_code": result.exitCode,
      "job.isolation": result.isolation,
    });
  }
  // Only a job that ran to its end is a success; a timeout, a cancel or a failure is what a trace reader looks for.
  if (result?.state !== JobState.JOB_STATE_FINISHED) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: result?.message ?? "the job ended without a result" });
  }
  span.end();
}

/** OpenTelemetry reports export failures to its own diagnostics, silent by default: the worker's log says so instead. */
function reportingFailures(exporter: SpanExporter, endpoint: string, log: Logger): SpanExporter {
  return {
    export: (spans, done) =>
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS)
          log.warn({ err: result.error, endpoint, spans: spans.length }, "tracing: spans not exported");
        done(result);
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: async () => exporter.forceFlush?.(),
  };
}
