import { StreamJobResponse, WorkerServiceService } from "@opencode-worker/shared";

/**
 * StreamJob's hot path, encoded by hand. An output event is almost all payload, and the generated
 * encoder grows its buffer piece by piece and copies the payload several times (with the garbage
 * that makes, about half of the worker's CPU when a job streams fast). Here the exact size is
 * computed first and the payload copied once. Every other event, rare by comparison, goes through
 * the generated encoder. The bytes are the same as the generated encoder's (tested).
 */
export function encodeStreamJobResponse(message: StreamJobResponse): Buffer {
  const event = message.event;
  if (event?.kind?.$case !== "output") return Buffer.from(StreamJobResponse.encode(message).finish());
  const { stream, data, offset } = event.kind.value;
  const jobIdBytes = Buffer.byteLength(event.jobId);

  // OutputChunk { stream = 1 (varint); data = 2 (bytes); offset = 3 (varint) }, zero values omitted.
  const chunkSize =
    (stream !== 0 ? 1 + varintSize(stream) : 0) +
    (data.length > 0 ? 1 + varintSize(data.length) + data.length : 0) +
    (offset !== 0 ? 1 + varintSize(offset) : 0);
  // JobEvent { seq = 1; timestamp_unix_ms = 2; job_id = 3; output = 12 (tag 0x62) }
  const eventSize =
    (event.seq !== 0 ? 1 + varintSize(event.seq) : 0) +
    (event.timestampUnixMs !== 0 ? 1 + varintSize(event.timestampUnixMs) : 0) +
    (jobIdBytes > 0 ? 1 + varintSize(jobIdBytes) + jobIdBytes : 0) +
    1 + varintSize(chunkSize) + chunkSize;
  // StreamJobResponse { event = 1 }
  const out = Buffer.allocUnsafe(1 + varintSize(eventSize) + eventSize);

  let pos = 0;
  const tag = (byte: number): void => void (out[pos++] = byte);
  const varint = (value: number): void => {
    let rest = value;
    while (rest > 0x7f) {
      out[pos++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    out[pos++] = rest;
  };
  tag(0x0a);
  varint(eventSize);
  if (event.seq !== 0) (tag(0x08), varint(event.seq));
  if (event.timestampUnixMs !== 0) (tag(0x10), varint(event.timestampUnixMs));
  if (jobIdBytes > 0) {
    tag(0x1a);
    varint(jobIdBytes);
    pos += out.write(event.jobId, pos, "utf8");
  }
  tag(0x62);
  varint(chunkSize);
  if (stream !== 0) (tag(0x08), varint(stream));
  if (data.length > 0) {
    tag(0x12);
    varint(data.length);
    pos += data.copy(out, pos);
  }
  if (offset !== 0) (tag(0x18), varint(offset));
  return out;
}

/** Bytes of a non-negative integer (below 2^53) as a protobuf varint. */
function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest > 0x7f; rest = Math.floor(rest / 0x80)) size += 1;
  return size;
}

/** WorkerService as generated, with the StreamJob responses encoded by the function above. */
export const workerServiceDefinition = {
  ...WorkerServiceService,
  streamJob: { ...WorkerServiceService.streamJob, responseSerialize: encodeStreamJobResponse },
};
