import { constants, type Http2SecureServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import { Server, type ServerCredentials } from "@grpc/grpc-js";
import type { WorkerConfig } from "../config/worker-config.js";

type GrpcOptions = WorkerConfig["grpc"];

/**
 * PINGs sooner than grpc.min_ping_interval_ms a client may send in a row before GOAWAY: C-core's default
 * (GRPC_ARG_HTTP2_MAX_PING_STRIKES), so a jittery keepalive timer is not punished for one early ping.
 */
const PING_STRIKES = 2;

/**
 * HTTP/2 receive windows: how many request bytes a client may send before it waits for a WINDOW_UPDATE. Node's
 * default, 64 KiB for the connection and for each stream, is never raised by grpc-js (C-core and grpc-go grow
 * theirs by BDP probing), so a near-4 MiB request took some 64 round trips, shared with every other call on the
 * connection: from a busy client that was over 8 s (fuzz.test.ts, seed 1145626665). Node hands the connection
 * window back as bytes arrive and grpc-js buffers each request message whole anyway, so wider windows cost
 * no memory a client could not already make the worker hold. A stream's window is 8 MiB, not 1: with one
 * UploadBlobs message (up to 1 MiB) per window the client waited for a WINDOW_UPDATE after each one, which
 * halved the upload's throughput (bench k); the connection's window still bounds all streams together.
 */
const CONNECTION_WINDOW_BYTES = 16 * 1024 ** 2;
const STREAM_WINDOW_BYTES = 8 * 1024 ** 2;

/**
 * A grpc-js server with explicit limits: grpc-js defaults are permissive (4 MiB receive limit, no
 * keepalive, unbounded concurrent streams, connections kept forever), and a worker facing agents wants
 * each one chosen. grpc-js reads an absent age or idle option as "never", which is what 0 means here.
 */
export function createServer(options: GrpcOptions): Server {
  return new Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes,
    "grpc.max_send_message_length": options.maxSendMessageBytes,
    "grpc.max_concurrent_streams": options.maxConcurrentStreams,
    "grpc.keepalive_time_ms": options.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs,
    ...(options.maxConnectionIdleMs > 0 ? { "grpc.max_connection_idle_ms": options.maxConnectionIdleMs } : {}),
    ...(options.maxConnectionAgeMs > 0
      ? { "grpc.max_connection_age_ms": options.maxConnectionAgeMs, "grpc.max_connection_age_grace_ms": options.maxConnectionAgeGraceMs }
      : {}),
  });
}

/**
 * Binds grpc.host:grpc.port (port 0 picks a free one) with `credentials` (auth/tls-credentials.ts),
 * guards the connections (below), and returns the port actually bound.
 */
export async function bind(server: Server, options: GrpcOptions, credentials: ServerCredentials): Promise<number> {
  const { host, port } = options;
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, credentials, (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
  );
  guardConnections(server, options);
  return bound;
}

/**
 * grpc-js has no option for a connection cap, does not enforce a client's ping rate (C-core's
 * min_recv_ping_interval_without_data) and leaves receive windows at Node's defaults, and it keeps its
 * node:http2 servers in a private field: they are reached there, in the turn of the event loop that bound
 * them, before any connection is accepted. Node's own `maxConnections` closes each socket beyond the cap
 * as it is accepted.
 */
function guardConnections(server: Server, options: GrpcOptions): void {
  const { http2Servers } = server as unknown as { http2Servers?: unknown };
  // Loud, not a silently unguarded worker, should a grpc-js upgrade rename the field.
  if (!(http2Servers instanceof Map))
    throw new Error("grpc-js no longer exposes its http2 servers: grpc.max_connections cannot be enforced");
  for (const http2Server of (http2Servers as Map<Http2Server | Http2SecureServer, unknown>).keys()) {
    http2Server.maxConnections = options.maxConnections;
    http2Server.updateSettings({ initialWindowSize: STREAM_WINDOW_BYTES });
    http2Server.on("session", (session: ServerHttp2Session) => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    if (options.minPingIntervalMs > 0)
      http2Server.on("session", (session: ServerHttp2Session) => limitPings(session, options.minPingIntervalMs));
  }
}

/**
 * A ping flood costs the worker an ACK each: a client that pings sooner than `minIntervalMs` more than
 * PING_STRIKES times in a row gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (C-core's answer, on
 * which grpc-js clients double their keepalive time) and loses the connection.
 */
function limitPings(session: ServerHttp2Session, minIntervalMs: number): void {
  let last = -Infinity;
  let strikes = 0;
  session.on("ping", () => {
    const now = performance.now();
    strikes = now - last < minIntervalMs ? strikes + 1 : 0;
    last = now;
    if (strikes <= PING_STRIKES || session.destroyed) return;
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from("too_many_pings"));
    session.destroy();
  });
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
