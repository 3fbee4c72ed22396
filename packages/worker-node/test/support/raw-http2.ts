import { once } from "node:events";
import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { WORKER_SERVICE_NAME } from "@opencode-worker/shared";

/**
 * gRPC spoken by hand over node:http2, for what a gRPC client hides: its connection (GOAWAY, PING,
 * SETTINGS, one socket per session) and its message frames (a compressed flag on bytes no encoder made).
 */

/** A plaintext HTTP/2 connection to host:port, once the server's SETTINGS have arrived. */
export async function openSession(address: string): Promise<ClientHttp2Session> {
  const session = connect(`http://${address}`);
  // An unhandled 'error' would crash jest; tests look at 'close' and 'goaway'.
  session.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once("remoteSettings", () => resolve());
    session.once("close", () => reject(new Error("the server closed the connection before its SETTINGS")));
  });
  return session;
}

/** One gRPC length-prefixed message: the compressed flag, a 4-byte big-endian length, the bytes. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(compressed ? 1 : 0, 0);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

export interface RawGrpcOutcome {
  /** grpc-status from the trailers (or a trailers-only answer); undefined when the stream was reset. */
  status: number | undefined;
  message: string;
  /** The response messages, unframed. */
  messages: Buffer[];
}

export interface RawGrpcCall {
  /** True once the server's response headers came: the stream was let through. */
  readonly answered: boolean;
  readonly outcome: Promise<RawGrpcOutcome>;
  close(): void;
}

/** Sends `body` (already framed) as a call of WorkerService's `rpc` on `session`. */
export function rawGrpcCall(session: ClientHttp2Session, rpc: string, body: Buffer, headers: OutgoingHttpHeaders = {}): RawGrpcCall {
  const stream = session.request({
    ":method": "POST",
    ":path": `/${WORKER_SERVICE_NAME}/${rpc}`,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  stream.on("error", () => undefined);
  let answered = false;
  let final: IncomingHttpHeaders = {};
  const chunks: Buffer[] = [];
  stream.on("response", (responseHeaders) => {
    answered = true;
    final = responseHeaders;
  });
  stream.on("trailers", (trailers) => (final = trailers));
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.end(body);
  const outcome = once(stream, "close").then(() => {
    const status = final["grpc-status"];
    return {
      status: status === undefined ? undefined : Number(status),
      message: decodeURIComponent(String(final["grpc-message"] ?? "")),
      messages: unframe(Buffer.concat(chunks)),
    };
  });
  return {
    get answered() {
      return answered;
    },
    outcome,
    close: () => stream.close(),
  };
}

function unframe(bytes: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let offset = 0; offset + 5 <= bytes.length;) {
    const length = bytes.readUInt32BE(offset + 1);
    messages.push(bytes.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return messages;
}
