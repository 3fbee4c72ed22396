import { StreamJobResponse } from "./generated/opencode/worker/v1/worker_service.pb.js";

/*
 * StreamJob's hot path, an output event, coded by hand on both sides of the wire. An output event is
 * almost all payload: the generated encoder grows its buffer piece by piece and copies the payload
 * several times, and the generated decoder copies it again (with the garbage that makes, about half
 * of the worker's CPU when a job streams fast). Here the encoder computes the exact size and copies
 * the payload once, and the decoder returns the payload as a view of the received message. Every
 * other event, rare by comparison, goes through the generated code. Both produce exactly what the
 * generated code does (tested).
 */

/** Encodes like `StreamJobResponse.encode(message).finish()`, faster for output events. */
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
    1 +
    varintSize(chunkSize) +
    chunkSize;
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

/** Decodes like `StreamJobResponse.decode(bytes)`; an output event's data is a view of `bytes`. */
export function decodeStreamJobResponse(bytes: Buffer): StreamJobResponse {
  return decodeOutputEvent(bytes) ?? StreamJobResponse.decode(bytes);
}

/** The fields of an output event read straight off the wire, or undefined for any other shape. */
function decodeOutputEvent(bytes: Buffer): StreamJobResponse | undefined {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let scale = 1; pos < bytes.length; scale *= 0x80) {
      const byte = bytes[pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
    }
    throw new RangeError("truncated varint");
  };
  if (bytes[pos++] !== 0x0a) return undefined;
  const eventEnd = varint() + pos;
  if (eventEnd !== bytes.length) return undefined;
  let seq = 0;
  let timestampUnixMs = 0;
  let jobId = "";
  let chunk: { stream: number; data: Buffer; offset: number } | undefined;
  while (pos < eventEnd) {
    const tag = bytes[pos++];
    if (tag === 0x08) seq = varint();
    else if (tag === 0x10) timestampUnixMs = varint();
    else if (tag === 0x1a) {
      const length = varint();
      jobId = bytes.toString("utf8", pos, (pos += length));
    } else if (tag === 0x62 && chunk === undefined) {
      const chunkEnd = varint() + pos;
      chunk = { stream: 0, data: Buffer.alloc(0), offset: 0 };
      while (pos < chunkEnd) {
        const field = bytes[pos++];
        if (field === 0x08) chunk.stream = varint();
        else if (field === 0x12) {
          const length = varint();
          chunk.data = bytes.subarray(pos, (pos += length));
        } else if (field === 0x18) chunk.offset = varint();
        else return undefined;
      }
    } else return undefined;
  }
  if (!chunk || pos !== eventEnd) return undefined;
  return { event: { seq, timestampUnixMs, jobId, kind: { $case: "output", value: chunk } } };
}
