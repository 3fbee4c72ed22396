/**
 * A job dispatched and then looked after with the other tools, against a real worker: status,
 * following it in two bounded pieces, collecting it, and the worker-wide views while it runs.
 */
import { expect, it } from "@jest/globals";
import { eventually } from "../../../worker-node/test/harness.js";
import { describeSandbox } from "../../../worker-node/test/support/conditions.js";
import { jobIdIn, usePluginOnWorker } from "./plugin-harness.js";

// Six ticks 0.3 s apart: long enough to be caught running, short enough to wait for.
const TICKS = "for i in 1 2 3 4 5 6; do echo tick-$((i*11)); sleep 0.3; done";

describeSandbox("dispatching a job and following it with the plugin's tools", () => {
  const on = usePluginOnWorker();

  it("dispatches, reports status, follows in two pieces with a resume seq, and collects the result", async () => {
    const dispatched = await on.plugin.call("worker_dispatch_job", { command: TICKS });
    const jobId = jobIdIn(dispatched);
    expect(dispatched).toContain(`job ${jobId} dispatched to ${on.worker.worker.address}`);
    expect(dispatched).toContain(`worker_collect_output`);

    const status = await on.plugin.call("worker_get_status", { jobId });
    expect(status).toMatch(new RegExp(`^job ${jobId}: (queued|preparing|running)`));
    expect(status).toContain("worker_subscribe_stream");

    // maxWaitMs ends the first piece while the job still runs: output so far and where to resume.
    // Counted from when the command runs, so a slow sandbox start cannot eat the first tick's time.
    const job = await on.worker.client.job(jobId);
    await eventually(async () => (await job.status()).state === "running");
    const first = await on.plugin.call("worker_subscribe_stream", { jobId, maxWaitMs: 700 });
    expect(first).toMatch(/^still running after 700 ms of following/);
    expect(first).toContain("tick-11");
    expect(first).not.toContain("tick-66");
    const resume = new RegExp(`resume with worker_subscribe_stream jobId "${jobId}" afterSeq (\\d+)`).exec(first);
    expect(resume).not.toBeNull();
    const afterSeq = Number(resume![1]);
    expect(afterSeq).toBeGreaterThan(0);

    const rest = await on.plugin.call("worker_subscribe_stream", { jobId, afterSeq });
    expect(rest).toMatch(new RegExp(`^job ${jobId}: finished, exit code 0`));
    // The result shows the whole output, including what the first piece already followed.
    for (const tick of [11, 22, 33, 44, 55, 66]) expect(rest).toContain(`tick-${tick}\n`);

    const collected = await on.plugin.call("worker_collect_output", { jobId });
    expect(collected).toMatch(new RegExp(`^job ${jobId}: finished, exit code 0`));
    expect(collected).toContain("stdout (48 bytes, 6 lines):\ntick-11\ntick-22\ntick-33\ntick-44\ntick-55\ntick-66");
    expect(collected).toContain("stderr: empty");

    expect(await on.plugin.call("worker_cancel_job", { jobId })).toBe(`job ${jobId} had already ended (finished); nothing to cancel`);
  });

  it("answers collect with wait:false at once while the job runs, and list_sessions shows it", async () => {
    const jobId = jobIdIn(await on.plugin.call("worker_dispatch_job", { command: "sleep 3.17" }));

    const started = performance.now();
    const collected = await on.plugin.call("worker_collect_output", { jobId, wait: false });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(collected).toMatch(new RegExp(`^still running\njob ${jobId}: (queued|preparing|running)`));

    const sessions = await on.plugin.call("worker_list_sessions", {});
    expect(sessions).toContain(`on the worker at ${on.worker.worker.address}:`);
    expect(sessions).toMatch(new RegExp(`^job ${jobId}: (queued|preparing|running), phase \\w+`, "m"));

    const cancelled = await on.plugin.call("worker_cancel_job", { jobId, reason: "tools test" });
    expect(cancelled).toBe(`job ${jobId} cancelled: no process of it is left; worker_collect_output has its result and output so far`);
    expect((await (await on.worker.client.job(jobId)).status()).state).toBe("cancelled");
    expect(await on.plugin.call("worker_collect_output", { jobId })).toMatch(new RegExp(`^job ${jobId}: cancelled \\(cancelled\\)`));
  });

  it("collect_output with a waitMs shorter than the job says it still runs, after how long", async () => {
    const jobId = jobIdIn(await on.plugin.call("worker_dispatch_job", { command: "sleep 2.41" }));
    const collected = await on.plugin.call("worker_collect_output", { jobId, waitMs: 300 });
    expect(collected).toMatch(new RegExp(`^still running after waiting 300 ms\njob ${jobId}: `));
    await on.plugin.call("worker_cancel_job", { jobId });
  });

  it("reports the worker's metrics: capacity, isolation and outcomes so far", async () => {
    const metrics = await on.plugin.call("worker_get_metrics", {});
    expect(metrics).toMatch(new RegExp(`^worker \\S+ at ${on.worker.worker.address}, version `));
    expect(metrics).toMatch(/^capacity: \d+ of 4 slots busy/m);
    expect(metrics).toMatch(/^isolation: sandbox/m);
    // The first test's job finished and the second's was cancelled before this one runs.
    expect(metrics).toMatch(/^jobs: \d+ in all; .*finished\/exited \d/m);
    expect(metrics).toMatch(/^jobs: .*cancelled\/cancelled \d/m);
  });
});
