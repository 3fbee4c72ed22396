import { UploadBlobsRequest } from "./generated/opencode/worker/v1/workspace.pb.js";

/*
 * UploadBlobs' hot path, both ends: the SDK encodes each chunk, the worker decodes it, without the
 * copies of a 1 MiB `data` the generated code makes on either side (they cost more CPU than hashing
 * it and capped the upload's throughput). The bytes are the generated code's (tested against it).
 */

/**
 * Encodes like `UploadBlobsRequest.encode(message).finish()`, copying the chunk's data once: the
 * generated encoder grows its buffer piece by piece and copies the data several times, which cost
 * more CPU than hashing it and capped the upload's throughput. The small part (digest, offset) goes
 * through the generated code; `data` (field 3, the last one) is appended. Same bytes (tested).
 */
export function encodeUploadBlobsRequest(message: UploadBlobsRequest): Buffer {
  const { data } = message;
  const head = UploadBlobsRequest.encode({ ...message, data: EMPTY }).finish();
  if (data.length === 0) return Buffer.from(head);
  // The tag of field 3, wire type 2 (length-delimited), then the length as a varint.
  const prefix = [0x1a];
  for (let rest = data.length; ; rest = Math.floor(rest / 0x80)) {
    if (rest <= 0x7f) {
      prefix.push(rest);
      break;
    }
    prefix.push((rest & 0x7f) | 0x80);
  }
  return Buffer.concat([head, Buffer.from(prefix), data], head.length + prefix.length + data.length);
}

const EMPTY = Buffer.alloc(0);

/**
 * Decodes like `UploadBlobsRequest.decode(bytes)`, with `data` a view of the received message rather
 * than a copy: the generated decoder copies every chunk (up to 1 MiB) once more, a good part of the
 * worker's CPU during an upload. grpc-js hands each message its own buffer, so the view stays valid.
 * Only the common layout, `data` (field 3) once and last, as every encoder writes it, takes the
 * fast path; any other message, malformed ones included, goes through the generated decoder.
 */
export function decodeUploadBlobsRequest(bytes: Buffer): UploadBlobsRequest {
  const data = trailingData(bytes);
  if (data === undefined) return UploadBlobsRequest.decode(bytes);
  return { ...UploadBlobsRequest.decode(bytes.subarray(0, data.fieldStart)), data: bytes.subarray(data.dataStart) };
}

/** Where field 3 starts and its bytes begin, when it occurs once and runs to the message's end. */
function trailingData(bytes: Buffer): { fieldStart: number; dataStart: number } | undefined {
  let pos = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 35 && pos < bytes.length; shift += 7) {
      const byte = bytes[pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    const fieldStart = pos;
    const tag = varint();
    if (tag === undefined) return undefined;
    const wireType = tag & 7;
    if (wireType === 2) {
      const length = varint();
      if (length === undefined) return undefined;
      if (tag === 0x1a) return pos + length === bytes.length ? { fieldStart, dataStart: pos } : undefined;
      pos += length;
    } else if (wireType === 0) {
      if (varint() === undefined) return undefined;
    } else {
      return undefined;
    }
  }
  return undefined;
}
