import { describe, expect, it } from "@jest/globals";
import { createServer } from "node:net";
import { InterceptingCall, type Interceptor } from "@grpc/grpc-js";
import { type DispatchRequest, JOB_ID_PATTERN } from "@opencode-worker/shared";
import { ConnectionError, InvalidArgumentError, UnavailableError } from "./errors.js";
import { WorkerClient } from "./worker-client.js";

/** An address where nothing listens: connections are refused at once, as from a worker that is down. */
async function closedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

describe("WorkerClient.dispatch", () => {
  it("picks the job id once, before the first attempt, so every retry names the same job", async () => {
    const sentJobIds: string[] = [];
    const recordJobId: Interceptor = (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        sendMessage(message: DispatchRequest, next) {
          sentJobIds.push(message.spec?.jobId ?? "");
          next(message);
        },
      });
    const client = WorkerClient.lazy({
      address: await closedAddress(),
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      interceptors: [recordJobId],
    });
    try {
      await expect(client.dispatch({ command: "true" })).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      client.close();
    }
    expect(sentJobIds).toHaveLength(3);
    expect(new Set(sentJobIds).size).toBe(1);
    expect(sentJobIds[0]).toMatch(JOB_ID_PATTERN);
  });

  it("validates the spec before any call", async () => {
    const client = WorkerClient.lazy({ address: await closedAddress() });
    try {
      await expect(client.dispatch({ command: "true", limits: { memory: "lots" } })).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        field: "limits.memory",
      });
    } finally {
      client.close();
    }
  });
});

describe("WorkerClient.connect", () => {
  it("throws a ConnectionError when no worker answers in time", async () => {
    const error = await WorkerClient.connect({ address: await closedAddress(), requestTimeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe("CONNECTION");
  });

  it("fails at the first refused connection, long before requestTimeoutMs", async () => {
    const started = Date.now();
    const error = await WorkerClient.connect({ address: await closedAddress(), requestTimeoutMs: 30_000 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).cause).toBeInstanceOf(UnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("WorkerClient options", () => {
  it.each([
    [{ requestTimeoutMs: 0 }, "requestTimeoutMs"],
    [{ address: "" }, "address"],
    [{ retry: { maxAttempts: 0 } }, "retry.maxAttempts"],
    [{ requestTimeout: 5 }, "requestTimeout"],
    [{ tls: { cert: "PEM" } }, "tls.key"],
    [{ tls: { key: "PEM" } }, "tls.cert"],
    [{ tls: { ca: 5 } }, "tls.ca"],
    [{ tls: { certificate: "PEM" } }, "tls.certificate"],
    [{ tls: {}, credentials: {} }, "tls"],
    [{ token: "" }, "token"],
  ])("rejects %p naming %p", (options, field) => {
    const error = (() => {
      try {
        WorkerClient.lazy(options as never);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe(field);
  });

  it("uses the default address", () => {
    const client = WorkerClient.lazy();
    client.close();
    expect(client.address).toBe("127.0.0.1:50051");
  });
});

describe("WorkerClient.close", () => {
  it("makes later calls fail with a ConnectionError", async () => {
    const client = WorkerClient.lazy({ address: await closedAddress() });
    client.close();
    await expect(client.metrics()).rejects.toBeInstanceOf(ConnectionError);
  });
});
