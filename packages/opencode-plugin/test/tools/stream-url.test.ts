/**
 * worker_get_stream_url gives a person command lines to attach to a job: the buf curl line it
 * prints is run here as printed, against the real worker, and must replay the job's output.
 */
import { expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describeSandbox } from "../../../worker-node/test/support/conditions.js";
import { jobIdIn, usePluginOnWorker } from "./plugin-harness.js";

/** The repository's buf (a dev dependency of the root package), found first on the PATH the line runs with. */
const BIN_DIR = fileURLToPath(new URL("../../../../node_modules/.bin", import.meta.url));

describeSandbox("worker_get_stream_url", () => {
  const on = usePluginOnWorker();

  it("prints a buf curl line that, pasted into a shell, streams the job's events from the worker", async () => {
    const jobId = jobIdIn(await on.plugin.call("worker_stream_job", { command: "echo marker-$((6*7))" }));

    const text = await on.plugin.call("worker_get_stream_url", { jobId });
    const address = on.worker.worker.address;
    expect(text).toContain(`job ${jobId} on the worker at ${address} (gRPC over plaintext HTTP/2): finished`);
    expect(text).toContain(
      `stream: grpc://${address}/opencode.worker.v1.WorkerService/StreamJob with {"job_id":"${jobId}","after_seq":"0"}`,
    );
    expect(text).toMatch(/^resume from: afterSeq 0 \(0 replays every event; the latest so far is \d+\)$/m);
    const bufLine = /^ {2}(buf curl .*)$/m.exec(text)?.[1];
    const grpcurlLine = /^ {2}(grpcurl .*)$/m.exec(text)?.[1];
    expect(grpcurlLine).toBe(
      `grpcurl -plaintext -d '{"job_id":"${jobId}","after_seq":"0"}' ${address} opencode.worker.v1.WorkerService/StreamJob`,
    );

    const { stdout } = await promisify(execFile)("sh", ["-c", bufLine!], {
      env: { PATH: `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: process.env.HOME ?? "/root" },
      timeout: 20_000,
    });
    // Each event is one JSON message; output bytes are base64, as protobuf's JSON mapping has them.
    expect(stdout).toContain(`"jobId": "${jobId}"`);
    expect(stdout).toContain(`"data": "${Buffer.from("marker-42\n").toString("base64")}"`);
    expect(stdout).toContain('"state": "JOB_STATE_FINISHED"');
  });

  it("starts the lines at the afterSeq it is given", async () => {
    const jobId = jobIdIn(await on.plugin.call("worker_dispatch_job", { command: "true" }));
    const text = await on.plugin.call("worker_get_stream_url", { jobId, afterSeq: 3 });
    expect(text).toContain(`-d '{"job_id":"${jobId}","after_seq":"3"}'`);
    expect(text).toContain("resume from: afterSeq 3");
  });
});
