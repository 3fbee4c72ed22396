/**
 * A server-streaming method with no protobuf at all: the request is the byte count as decimal text,
 * each response message is raw bytes. What is left is grpc-js itself (framing, HTTP/2, flow
 * control), the ceiling any grpc-js service can stream at.
 */
import type { ServiceDefinition } from "@grpc/grpc-js";

export const RAW_STREAM_PATH = "/bench.RawStream/Stream";

/** The size of each message: the same as a pipe read, which is what the worker forwards. */
export const RAW_CHUNK_BYTES = 64 * 1024;

const identity = (buffer: Buffer): Buffer => buffer;

export const RAW_STREAM_SERVICE: ServiceDefinition = {
  stream: {
    path: RAW_STREAM_PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export const encodeRequest = (totalBytes: number): Buffer => Buffer.from(String(totalBytes));
export const decodeRequest = (request: Buffer): number => Number(request.toString());
