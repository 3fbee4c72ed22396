/**
 * worker_stream_job against a real worker: live progress through the tool context while the job
 * runs, stopping the tool call cancels the remote job, and 14 MiB of output comes back within the
 * result budget (as it does through worker_collect_output).
 */
import { expect, it } from "@jest/globals";
import { eventually } from "../../../worker-node/test/harness.js";
import { describeSandbox } from "../../../worker-node/test/support/conditions.js";
import { processesRunning } from "../support/processes.js";
import { jobIdIn, loadPlugin, usePluginOnWorker, toolContext } from "./plugin-harness.js";

/** A result budget small enough that bytes, not the line cap, bound how much of a long output is shown. */
const RESULT_BYTES = 4096;

describeSandbox("worker_stream_job", () => {
  const on = usePluginOnWorker();

  it("shows the output live while the job runs, then returns the result with its marker", async () => {
    const recorded = toolContext();
    // $((6*7)) is evaluated by the job's shell: "marker-42" cannot come from the arguments.
    const text = await on.plugin.call(
      "worker_stream_job",
      { command: "for i in 1 2 3 4 5; do echo tick-$i; sleep 0.25; done; echo marker-$((6*7))" },
      recorded,
    );
    const jobId = jobIdIn(text);
    expect(text).toMatch(new RegExp(`^job ${jobId}: finished, exit code 0`));
    expect(text).toContain("tick-1\ntick-2\ntick-3\ntick-4\ntick-5\nmarker-42");

    const outputs = recorded.metadata.map((call) => call.metadata?.output ?? "");
    expect(recorded.metadata.every((call) => call.metadata?.jobId === jobId)).toBe(true);
    // Several updates while it ran, each holding at least what the one before held.
    const distinct = [...new Set(outputs)];
    expect(distinct.length).toBeGreaterThanOrEqual(3);
    for (let index = 1; index < outputs.length; index += 1) expect(outputs[index]!.startsWith(outputs[index - 1]!)).toBe(true);
    expect(distinct.some((output) => output.includes("tick-1") && !output.includes("marker-42"))).toBe(true);
    expect(recorded.metadata.at(-1)).toEqual({
      title: `job ${jobId}: finished`,
      metadata: { jobId, state: "finished", output: "tick-1\ntick-2\ntick-3\ntick-4\ntick-5\nmarker-42\n" },
    });
  });

  it("cancels the job on the worker when the tool call is stopped, leaving no process", async () => {
    // A duration no other test uses, so the /proc scan finds this job's process and nothing else.
    const sleep = "sleep 61.73";
    const recorded = toolContext();
    const call = on.plugin.call("worker_stream_job", { command: `echo started; ${sleep}` }, recorded);
    await eventually(() => recorded.metadata.some((update) => update.metadata?.output?.includes("started")));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(processesRunning("61.73").length).toBeGreaterThan(0);

    recorded.controller.abort();
    const text = await call;
    const jobId = recorded.metadata[0]!.metadata!.jobId!;
    expect(text).toBe(`job ${jobId} cancelled: the tool call was stopped`);
    const result = await (await on.worker.client.job(jobId)).wait();
    expect(result.state).toBe("cancelled");
    expect(result.stdout.toString()).toBe("started\n");
    expect(processesRunning("61.73")).toEqual([]);
  });

  it("fits 14 MiB of output in the resultBytes budget, showing its head and the end of its tail", async () => {
    // 14,888,896 bytes in 2,000,000 lines: under the worker's default output limit (16 MiB), over what it keeps (8 MiB).
    const small = await loadPlugin({ address: on.worker.worker.address, resultBytes: RESULT_BYTES });
    const text = await small.call("worker_stream_job", { command: "seq 1 2000000" });
    const jobId = jobIdIn(text);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(RESULT_BYTES);
    expect(text).toMatch(new RegExp(`^job ${jobId}: finished, exit code 0`));
    expect(text).toMatch(/^stdout \(14.2 MiB, 2,000,000 lines; first \d+ lines and last \d+ lines shown\):\n1\n2\n3\n/m);
    expect(text).toMatch(/^\[… 14.\d MiB, 1,99\d,\d{3} lines left out …\]$/m);
    // The stream delivered every byte, so nothing is said to be missing.
    expect(text).not.toContain("not kept");
    expect(text).toMatch(/\n1999999\n2000000\nstderr: empty$/);

    // The worker kept the first 8 MiB: collect shows the head and the end of what was kept, and says what was not.
    const collected = await small.call("worker_collect_output", { jobId });
    await small.dispose();
    expect(Buffer.byteLength(collected)).toBeLessThanOrEqual(RESULT_BYTES);
    expect(collected).toMatch(/^stdout \(14.2 MiB, 2,000,000 lines; first \d+ lines and last \d+ lines shown\):\n1\n2\n3\n/m);
    expect(collected).toMatch(/^\[… [\d.]+ MiB left out …\]$/m);
    expect(collected).toMatch(/^\[… the last 6.2 MiB were not kept by the worker \(its session.result_output_bytes\) /m);
    const lastKept = /\n(\d+)\n\[… [^\n]* were not kept/.exec(collected)?.[1];
    // 8 MiB ends inside the 7-digit numbers, far before 2000000.
    expect(Number(lastKept)).toBeGreaterThan(1_000_000);
    expect(Number(lastKept)).toBeLessThan(2_000_000);
  });
});
