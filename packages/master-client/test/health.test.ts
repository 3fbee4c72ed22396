/**
 * WorkerClient.health() against a grpc.health.v1 service served with the messages grpc-health-check
 * sends: the client must code the service name and read the status the way any health server does.
 */
import { describe, expect, it } from "@jest/globals";
import { Server, ServerCredentials, status as grpcStatus } from "@grpc/grpc-js";
import { NotFoundError, WorkerClient } from "../src/index.js";

/** HealthCheckResponse for each service this server knows: field 1, the ServingStatus number. */
const STATUSES: Record<string, number> = { "": 1, "opencode.worker.v1.WorkerService": 2 };

async function startHealthServer(): Promise<{ address: string; stop(): void }> {
  const server = new Server();
  server.addService(
    {
      check: {
        path: "/grpc.health.v1.Health/Check",
        requestStream: false,
        responseStream: false,
        // HealthCheckRequest: field 1 (the service), length-delimited; absent when empty.
        requestDeserialize: (bytes: Buffer) => ({ service: bytes.length === 0 ? "" : bytes.subarray(2, 2 + (bytes[1] ?? 0)).toString() }),
        requestSerialize: () => Buffer.alloc(0),
        responseSerialize: (status: number) => Buffer.from([0x08, status]),
        responseDeserialize: () => 0,
      },
    },
    {
      check: (call: { request: { service: string } }, callback: (error: object | null, status?: number) => void) => {
        const { service } = call.request;
        const status = STATUSES[service];
        if (status === undefined) return callback({ code: grpcStatus.NOT_FOUND, details: `unknown service ${service}` });
        return callback(null, status);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

describe("WorkerClient.health()", () => {
  it("reads the serving status of the whole server and of a named service", async () => {
    const server = await startHealthServer();
    const client = WorkerClient.lazy({ address: server.address, requestTimeoutMs: 2000 });
    try {
      expect(await client.health()).toBe("SERVING");
      expect(await client.health("opencode.worker.v1.WorkerService")).toBe("NOT_SERVING");
      await expect(client.health("no.such.Service")).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      client.close();
      server.stop();
    }
  });
});
