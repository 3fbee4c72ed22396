import { describe, expect, it } from "@jest/globals";
import { OutputStream, StreamJobResponse, type JobEvent } from "@opencode-worker/shared";
import { encodeStreamJobResponse } from "./stream-response-encoding.js";

function outputEvent(overrides: Partial<JobEvent> = {}, chunk: Partial<{ stream: OutputStream; data: Buffer; offset: number }> = {}): StreamJobResponse {
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

describe("encodeStreamJobResponse", () => {
  it.each([
    ["a typical chunk", outputEvent()],
    ["a 64 KiB chunk at a large offset", outputEvent({ seq: 2 ** 40 }, { data: Buffer.alloc(65536, 7), offset: 2 ** 52 })],
    ["zero values (omitted on the wire)", outputEvent({ seq: 0, timestampUnixMs: 0, jobId: "" }, { stream: OutputStream.OUTPUT_STREAM_UNSPECIFIED, data: Buffer.alloc(0), offset: 0 })],
    ["varint boundaries", outputEvent({ seq: 127, timestampUnixMs: 128 }, { data: Buffer.alloc(16384), offset: 2 ** 21 - 1 })],
  ])("writes the same bytes as the generated encoder for %s", (_name, message) => {
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
