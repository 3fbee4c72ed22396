/**
 * What goes wrong comes back as text a model can act on, never as a throw: a job stopped at a limit,
 * an argument the SDK refuses, a worker that does not answer, and a plugin set up wrongly.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import { describeSandbox } from "../../../worker-node/test/support/conditions.js";
import { jobIdIn, loadPlugin, toolContext, usePluginOnWorker, type ToolName } from "./plugin-harness.js";

/** Arguments each tool accepts, so a refusal can only come from the plugin's state. */
const EVERY_TOOL: Record<ToolName, Record<string, unknown>> = {
  worker_dispatch_job: { command: "true" },
  worker_get_status: { jobId: "job-1" },
  worker_collect_output: { jobId: "job-1" },
  worker_cancel_job: { jobId: "job-1" },
  worker_list_sessions: {},
  worker_get_metrics: {},
  worker_stream_job: { command: "true" },
  worker_get_stream_url: { jobId: "job-1" },
  worker_subscribe_stream: { jobId: "job-1" },
  worker_delegate_task: { prompt: "write a test" },
  bash: { command: "true" },
};

/** An empty project for bash and worker_delegate_task, which read the project before they reach the worker. */
const project = (): string => mkdtempSync(join(tmpdir(), "plugin-failures-"));

describeSandbox("jobs stopped or refused by the worker", () => {
  const on = usePluginOnWorker();

  it("a job past limits.timeoutMs reads timed_out with the worker's hint to raise it", async () => {
    const text = await on.plugin.call("worker_stream_job", { command: "sleep 30", limits: { timeoutMs: 1000 } });
    const jobId = jobIdIn(text);
    expect(text).toMatch(new RegExp(`^job ${jobId}: timed_out \\(timeout\\), killed by SIG(TERM|KILL) · 1\\.\\d\\d s`));
    expect(text).toContain("\nkilled at timeout 1 s: raise limits.timeoutMs\n");
  });

  it("a job past limits.memory reads memory_limit with the peak and the hint to raise it", async () => {
    // tail keeps the whole newline-free input in memory, far beyond the limit.
    const text = await on.plugin.call("worker_stream_job", { command: "head -c 300M /dev/zero | tail", limits: { memory: "64MiB" } });
    expect(text).toMatch(/^job \S+: failed \(memory_limit\), /);
    expect(text).toMatch(/\nkilled at memory limit 64 MiB; peak [\d.]+ MiB: raise limits\.memory\n/);
  });

  it("an argument the SDK refuses is named in the answer, with what to do", async () => {
    const text = await on.plugin.call("worker_dispatch_job", { command: "true", limits: { memory: "lots" } });
    expect(text).toMatch(/^worker error INVALID_ARGUMENT: limits\.memory\b.*"lots"/);
    expect(text).toContain("\nfix the named argument and call the tool again");
  });

  it("a job id the worker does not know is NOT_FOUND with where ids come from", async () => {
    const text = await on.plugin.call("worker_get_status", { jobId: "no-such-job" });
    expect(text).toMatch(/^worker error NOT_FOUND: .*no-such-job/);
    expect(text).toContain("job ids come from worker_dispatch_job or worker_stream_job");
  });
});

describe("a plugin that cannot reach a worker or cannot use its settings", () => {
  it("answers every tool with the unreachable address and how to fix it", async () => {
    const unreachable = await loadPlugin({ address: "127.0.0.1:1", requestTimeoutMs: 5000, remoteBash: true });
    try {
      for (const [name, args] of Object.entries(EVERY_TOOL)) {
        const text = await unreachable.call(name as ToolName, args, toolContext(project()));
        expect({ name, text }).toEqual({ name, text: expect.stringMatching(/^worker error (CONNECTION|UNAVAILABLE): /) });
        expect(text).toContain("no worker answers at 127.0.0.1:1: start one (`opencode-worker serve`)");
      }
    } finally {
      await unreachable.dispose();
    }
  });

  it.each([
    // remoteBash: a bash asked for must still replace opencode's own, to say what is wrong rather than run locally.
    [{ resultBytes: "x", remoteBash: true }, 'plugin option resultBytes must be an integer from 1024 to 49152, got "x"'],
    [{ adress: "127.0.0.1:1", remoteBash: true }, 'unknown plugin option "adress"; known: address,'],
  ])("answers every tool with what is wrong with the options %j", async (options, problem) => {
    const misconfigured = await loadPlugin(options);
    for (const [name, args] of Object.entries(EVERY_TOOL)) {
      const text = await misconfigured.call(name as ToolName, args, toolContext(project()));
      expect({ name, text }).toEqual({ name, text: expect.stringMatching(/^opencode-worker plugin is misconfigured: /) });
      expect(text).toContain(problem);
    }
    await misconfigured.dispose();
  });
});
