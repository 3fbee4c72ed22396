import { describe, expect, it } from "@jest/globals";
import { OutputStream, type JobEvent } from "./generated/opencode/worker/v1/job.pb.js";
import { StreamJobResponse } from "./generated/opencode/worker/v1/worker_service.pb.js";
import { decodeStreamJobResponse, encodeStreamJobResponse } from "./stream-job-codec.js";

function outputEvent(
  overrides: Partial<JobEvent> = {},
  chunk: Partial<{ stream: OutputStream; data: Buffer; offset: number }> = {},
): StreamJobResponse {
  return {
    event: {
      seq: 7,
      timestampUnixMs: 1_795_496_343_254,
      jobId: "job-ü-1",
      kind: { $case: "output", value: { stream: OutputStream.OUTPUT_STREAM_STDERR, data: Buffer.from("hello"), offset: 123, ...chunk } },
      ...overrides,
    },
  };
}

const CASES: Array<[string, StreamJobResponse]> = [
  ["a typical chunk", outputEvent()],
  ["a 64 KiB chunk at a large offset", outputEvent({ seq: 2 ** 40 }, { data: Buffer.alloc(65536, 7), offset: 2 ** 52 })],
  [
    "zero values (omitted on the wire)",
    outputEvent(
      { seq: 0, timestampUnixMs: 0, jobId: "" },
      { stream: OutputStream.OUTPUT_STREAM_UNSPECIFIED, data: Buffer.alloc(0), offset: 0 },
    ),
  ],
  ["varint boundaries", outputEvent({ seq: 127, timestampUnixMs: 128 }, { data: Buffer.alloc(16384), offset: 2 ** 21 - 1 })],
];

describe("encodeStreamJobResponse", () => {
  it.each(CASES)("writes the same bytes as the generated encoder for %s", (_name, message) => {
    const expected = Buffer.from(StreamJobResponse.encode(message).finish());
    const actual = encodeStreamJobResponse(message);
    expect(actual.equals(expected)).toBe(true);
    expect(StreamJobResponse.decode(actual)).toEqual(message);
  });

  it("leaves other events to the generated encoder", () => {
    const message: StreamJobResponse = { event: { seq: 1, timestampUnixMs: 5, jobId: "j", kind: { $case: "keepalive", value: {} } } };
    expect(encodeStreamJobResponse(message).equals(Buffer.from(StreamJobResponse.encode(message).finish()))).toBe(true);
  });
});

describe("decodeStreamJobResponse", () => {
  it.each(CASES)("reads what the generated encoder wrote for %s, the data as a view", (_name, message) => {
    const bytes = Buffer.from(StreamJobResponse.encode(message).finish());
    const decoded = decodeStreamJobResponse(bytes);
    expect(decoded).toEqual(StreamJobResponse.decode(bytes));
    const data = decoded.event?.kind?.$case === "output" ? decoded.event.kind.value.data : undefined;
    if (data && data.length > 0) expect(data.buffer).toBe(bytes.buffer);
  });

  it("leaves every other shape to the generated decoder", () => {
    const others: StreamJobResponse[] = [
      { event: { seq: 1, timestampUnixMs: 5, jobId: "j", kind: { $case: "keepalive", value: {} } } },
      { event: { seq: 2, timestampUnixMs: 5, jobId: "j", kind: { $case: "phaseChanged", value: { phase: 3, state: 3 } } } },
      { event: undefined },
    ];
    for (const message of others) {
      const bytes = Buffer.from(StreamJobResponse.encode(message).finish());
      expect(decodeStreamJobResponse(bytes)).toEqual(StreamJobResponse.decode(bytes));
    }
  });
});
