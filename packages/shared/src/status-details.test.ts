import { describe, expect, it } from "@jest/globals";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { decodeStatusDetails, encodeStatusDetails } from "./status-details.js";
import { WorkerError } from "./worker-error.js";

/**
 * An independent decoder: @bufbuild/protobuf's bare wire reader and the field numbers of the public
 * googleapis definitions (google/rpc/status.proto, error_details.proto, google/protobuf/any.proto),
 * written out here rather than taken from our copies of those protos.
 */
function fields(bytes: Uint8Array): [number, Uint8Array | number][] {
  const reader = new BinaryReader(bytes);
  const out: [number, Uint8Array | number][] = [];
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (wireType === WireType.LengthDelimited) out.push([number, reader.bytes()]);
    else if (wireType === WireType.Varint) out.push([number, reader.int32()]);
    else throw new Error(`unexpected wire type ${wireType} for field ${number}`);
  }
  return out;
}
const text = (value: Uint8Array | number | undefined): string => new TextDecoder().decode(value as Uint8Array);
const all = (entries: [number, Uint8Array | number][], number: number) => entries.filter(([n]) => n === number).map(([, v]) => v);

function decodeIndependently(bytes: Uint8Array) {
  const status = fields(bytes); // Status: code = 1, message = 2, repeated Any details = 3
  const details = all(status, 3).map((any) => {
    const anyFields = fields(any as Uint8Array); // Any: type_url = 1, value = 2
    return { typeUrl: text(all(anyFields, 1)[0]), value: all(anyFields, 2)[0] as Uint8Array };
  });
  const errorInfo = fields(details.find((d) => d.typeUrl === "type.googleapis.com/google.rpc.ErrorInfo")!.value);
  // ErrorInfo: reason = 1, domain = 2, map<string, string> metadata = 3 (entries: key = 1, value = 2)
  const metadata = Object.fromEntries(
    all(errorInfo, 3).map((entry) => {
      const pair = fields(entry as Uint8Array);
      return [text(all(pair, 1)[0]), text(all(pair, 2)[0])];
    }),
  );
  const badRequest = details.find((d) => d.typeUrl === "type.googleapis.com/google.rpc.BadRequest");
  // BadRequest: repeated FieldViolation field_violations = 1; FieldViolation: field = 1, description = 2
  const violations = badRequest
    ? all(fields(badRequest.value), 1).map((entry) => {
        const violation = fields(entry as Uint8Array);
        return { field: text(all(violation, 1)[0]), description: text(all(violation, 2)[0]) };
      })
    : [];
  return {
    code: all(status, 1)[0],
    message: text(all(status, 2)[0]),
    reason: text(all(errorInfo, 1)[0]),
    domain: text(all(errorInfo, 2)[0]),
    metadata,
    violations,
  };
}

describe("status details (grpc-status-details-bin)", () => {
  const refusal = new WorkerError("INVALID_ARGUMENT", "limits.memory_bytes: too much", { field: "limits.memory_bytes", jobId: "job-1" });

  it("is a google.rpc.Status any protobuf decoder reads with the public field numbers", () => {
    expect(decodeIndependently(encodeStatusDetails(3, refusal))).toEqual({
      code: 3,
      message: "limits.memory_bytes: too much",
      reason: "INVALID_ARGUMENT",
      domain: "opencode.worker.v1",
      metadata: { field: "limits.memory_bytes", job_id: "job-1" },
      violations: [{ field: "limits.memory_bytes", description: "limits.memory_bytes: too much" }],
    });
  });

  it("carries a BadRequest only for an invalid argument naming a field, and a finer reason when given", () => {
    const notFound = new WorkerError("NOT_FOUND", "no job x", { jobId: "x", sessionId: "s", reason: "RESULT_DROPPED" });
    const decoded = decodeIndependently(encodeStatusDetails(5, notFound));
    expect([decoded.reason, decoded.metadata, decoded.violations]).toEqual(["RESULT_DROPPED", { job_id: "x", session_id: "s" }, []]);
  });

  it("decodes back to the context, and to nothing for bytes that are not ours", () => {
    expect(decodeStatusDetails(encodeStatusDetails(3, refusal))).toEqual({
      reason: "INVALID_ARGUMENT",
      field: "limits.memory_bytes",
      jobId: "job-1",
    });
    expect(decodeStatusDetails(Buffer.from([0xff, 0xff, 0xff]))).toBeUndefined();
    expect(decodeStatusDetails(Buffer.alloc(0))).toBeUndefined();
  });
});
