import { Server, type ServerCredentials } from "@grpc/grpc-js";
import type { WorkerConfig } from "../config/worker-config.js";

/**
 * A grpc-js server with explicit limits: grpc-js defaults are permissive (4 MiB receive limit,
 * no keepalive, unbounded concurrent streams), and a worker facing agents wants each one chosen.
 */
export function createServer(options: WorkerConfig["grpc"]): Server {
  return new Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes,
    "grpc.max_send_message_length": options.maxSendMessageBytes,
    "grpc.max_concurrent_streams": options.maxConcurrentStreams,
    "grpc.keepalive_time_ms": options.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs,
  });
}

/** Binds host:port (port 0 picks a free one) with `credentials` (auth/tls-credentials.ts) and returns the port actually bound. */
export function bind(server: Server, host: string, port: number, credentials: ServerCredentials): Promise<number> {
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
}

/** tryShutdown lets in-flight calls finish; after `graceMs` forceShutdown cuts the rest. */
export function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
