import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { InvalidArgumentError } from "@opencode-worker/master-client";
import { decodeStatusDetails, JobSpec, STATUS_DETAILS_KEY, WorkerServiceClient } from "@opencode-worker/shared";
import { startTestWorker, type TestWorker } from "./harness.js";

let t: TestWorker;
let raw: WorkerServiceClient;
beforeAll(async () => {
  t = await startTestWorker();
  raw = new WorkerServiceClient(t.worker.address, credentials.createInsecure());
});
afterAll(async () => {
  raw.close();
  await t.stop();
});

const TOO_MUCH_MEMORY = { command: "true", limits: { memoryBytes: String(2 ** 40) } };

/** The context in the trailer of a refused call, as a plain grpc-js client receives it. */
function trailerContext(error: ServiceError) {
  const [bytes] = error.metadata.get(STATUS_DETAILS_KEY);
  expect(bytes).toBeInstanceOf(Buffer);
  return decodeStatusDetails(bytes as Buffer);
}

describe("a refusal's context travels in grpc-status-details-bin", () => {
  it("names the field of a refused Dispatch for a plain grpc-js client", async () => {
    const error = await new Promise<ServiceError>((resolve, reject) =>
      raw.dispatch({ spec: { ...JobSpec.fromPartial({}), ...TOO_MUCH_MEMORY, jobId: "too-big" } }, (failure) =>
        failure ? resolve(failure) : reject(new Error("accepted")),
      ),
    );
    expect(trailerContext(error)).toEqual({ reason: "INVALID_ARGUMENT", field: "limits.memory_bytes" });
  });

  it("is sent on a stream's error status too", async () => {
    const error = await new Promise<ServiceError>((resolve, reject) => {
      const call = raw.streamJob({ afterSeq: "0" });
      call.on("data", () => reject(new Error("streamed")));
      call.on("error", resolve);
    });
    expect(trailerContext(error)).toEqual({ reason: "INVALID_ARGUMENT", field: "target" });
  });

  it("reaches the SDK's error, in the SDK's own field names", async () => {
    const error = await t.client.run({ command: "true", limits: { memory: 2 ** 40 } }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    const refusal = error as InvalidArgumentError;
    expect([refusal.field, refusal.reason]).toEqual(["limits.memory", "INVALID_ARGUMENT"]);
    expect(refusal.message).toMatch(/^dispatch: limits\.memory: /);
    expect(refusal.message).not.toContain("memory_bytes:");
  });
});
