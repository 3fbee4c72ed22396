import type { Metadata } from "@grpc/grpc-js";
import type { TraceParent } from "../session/job-trace.js";

/** The W3C trace context headers a call carries; the tracer checks them (a malformed one starts a new trace). */
export function traceParentOf(metadata: Metadata): TraceParent {
  const [traceparent] = metadata.get("traceparent");
  const [tracestate] = metadata.get("tracestate");
  return {
    ...(typeof traceparent === "string" && { traceparent }),
    ...(typeof tracestate === "string" && { tracestate }),
  };
}
