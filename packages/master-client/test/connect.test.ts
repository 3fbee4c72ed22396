/**
 * WorkerClient.connect() verifies that a worker answers; lazy() (every other file) does not.
 */
import { describe, expect, it } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import * as wire from "@opencode-worker/shared";
import { ConnectionError, WorkerClient } from "../src/index.js";
import { scriptedSetup } from "./scripted-worker.js";

const { start, defer } = scriptedSetup();

describe("WorkerClient.connect()", () => {
  it("verifies with GetMetrics that a worker answers", async () => {
    const worker = await start({
      getMetrics: (_call, callback) => callback(null, wire.GetMetricsResponse.create({ workerId: "w-1", isolationMode: "sandbox" })),
    });
    const client = await WorkerClient.connect({ address: worker.address, requestTimeoutMs: 2000 });
    defer(() => client.close());
    expect(await client.metrics()).toMatchObject({ workerId: "w-1", isolationMode: "sandbox" });
  });

  it("throws a ConnectionError when what answers is not a worker", async () => {
    const worker = await start({});
    const error = await WorkerClient.connect({ address: worker.address, requestTimeoutMs: 2000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).cause).toMatchObject({ grpcCode: status.UNIMPLEMENTED });
  });
});
