import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startTestWorker, type TestWorker } from "./harness.js";

const run = promisify(execFile);
/** `buf curl` knows nothing of our protos: everything it does below comes from server reflection. */
const BUF = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
});
afterAll(() => t.stop());

function bufCurl(...args: string[]): Promise<string> {
  return run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 20_000 }).then((out) => out.stdout);
}

describe("server reflection serves the real descriptors", () => {
  it("lists the worker and health services", async () => {
    const services = (await bufCurl("--list-services", `http://${t.worker.address}`)).trim().split("\n");
    expect(services).toEqual(expect.arrayContaining(["opencode.worker.v1.WorkerService", "grpc.health.v1.Health"]));
  });

  it("calls Dispatch and a server stream by name with JSON, as an operator would", async () => {
    const base = `http://${t.worker.address}/opencode.worker.v1.WorkerService`;
    const dispatched = JSON.parse(await bufCurl(`${base}/Dispatch`, "-d", '{"spec":{"job_id":"by-reflection","command":"echo via buf"}}'));
    expect(dispatched).toMatchObject({ jobId: "by-reflection", created: true });
    const stream = await bufCurl(`${base}/StreamJob`, "-d", '{"job_id":"by-reflection"}');
    const events = stream
      .trim()
      .split(/\n(?=\{)/)
      .map((text) => JSON.parse(text) as { event: Record<string, unknown> });
    expect(events.at(-1)?.event.completed).toMatchObject({ jobId: "by-reflection", state: "JOB_STATE_FINISHED" });
    expect(Buffer.from(String((events.at(-1)?.event.completed as { stdout: string }).stdout), "base64").toString()).toBe("via buf\n");
  });

  it("answers health checks", async () => {
    expect(JSON.parse(await bufCurl(`http://${t.worker.address}/grpc.health.v1.Health/Check`, "-d", "{}"))).toEqual({ status: "SERVING" });
  });
});
