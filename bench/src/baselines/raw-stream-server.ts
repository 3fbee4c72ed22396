/**
 * The raw stream baseline's server, run as its own process like the worker. Prints
 * `{"port":N}` once it listens; SIGTERM stops it.
 */
import { once } from "node:events";
import { Server, type ServerWritableStream, ServerCredentials } from "@grpc/grpc-js";
import { decodeRequest, RAW_CHUNK_BYTES, RAW_STREAM_SERVICE } from "./raw-stream-service.js";

// One buffer for every message: grpc-js copies each message into its frame, so reusing it is safe,
// and the baseline then measures the transport rather than the allocator.
const chunk = Buffer.alloc(RAW_CHUNK_BYTES, 0);

async function stream(call: ServerWritableStream<Buffer, Buffer>): Promise<void> {
  const total = decodeRequest(call.request);
  const cancelled = new AbortController();
  call.once("cancelled", () => cancelled.abort());
  let sent = 0;
  try {
    while (sent < total) {
      const size = Math.min(RAW_CHUNK_BYTES, total - sent);
      sent += size;
      if (!call.write(size === RAW_CHUNK_BYTES ? chunk : chunk.subarray(0, size))) {
        await once(call, "drain", { signal: cancelled.signal });
      }
    }
    call.end();
  } catch (error) {
    if (!cancelled.signal.aborted) throw error;
  }
}

const server = new Server();
server.addService(RAW_STREAM_SERVICE, {
  stream: (call: ServerWritableStream<Buffer, Buffer>) => void stream(call),
});
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
