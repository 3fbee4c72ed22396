import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { describeSandbox } from "../../../worker-node/test/support/conditions.js";
import { startE2eWorker, type E2eWorker } from "../support/e2e-worker.js";
import { requireOpencodeBinary } from "../support/opencode-binary.js";
import { startOpencodeRun, type OpencodeExit, type OpencodeRun } from "../support/opencode-run.js";
import { startScriptedModel, type ScriptedModel, type ToolResult, type Turn } from "../../../../test-support/scripted-model.js";

/**
 * The plugin inside the real opencode: one `opencode run` whose scripted model calls every tool
 * against a real worker, then each test reads what the model was offered and what came back.
 * One run for all of it, since each opencode start costs seconds.
 */

const TOOLS = [
  "worker_dispatch_job",
  "worker_collect_output",
  "worker_stream_job",
  "worker_cancel_job",
  "worker_get_status",
  "worker_list_sessions",
  "worker_get_metrics",
  "worker_get_stream_url",
  "worker_subscribe_stream",
];

/** The job id a result names: every result with a job starts its line with "job <id>". */
function jobIdIn(text: string | undefined): string {
  const id = /\bjob ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/.exec(text ?? "")?.[1];
  if (!id) throw new Error(`no job id in the tool result ${JSON.stringify(text)}`);
  return id;
}
/** The id of the job that turn `name` dispatched, for the calls that look at it later. */
const jobOf =
  (name: "dispatch" | "background") =>
  (results: ToolResult[]): { jobId: string } => ({ jobId: jobIdIn(results[index(name)]?.content) });

// Turn n of the script answers the model request that holds n tool results; the names index the turns.
const SCRIPT = {
  // $((6*7)) is evaluated by the job's shell: "marker-42" cannot come from the arguments.
  dispatch: { tool: "worker_dispatch_job", args: { command: "echo marker-$((6*7))" } },
  collect: { tool: "worker_collect_output", args: jobOf("dispatch") },
  stream: { tool: "worker_stream_job", args: { command: "for i in 1 2 3; do echo tick-$((i*11)); sleep 0.4; done" } },
  timeout: { tool: "worker_stream_job", args: { command: "sleep 30", limits: { timeoutMs: 1000 } } },
  // tail keeps the whole newline-free input in memory, far beyond the limit.
  memory: { tool: "worker_stream_job", args: { command: "head -c 300M /dev/zero | tail", limits: { memory: "64MiB" } } },
  status: { tool: "worker_get_status", args: jobOf("dispatch") },
  streamUrl: { tool: "worker_get_stream_url", args: jobOf("dispatch") },
  subscribe: { tool: "worker_subscribe_stream", args: jobOf("dispatch") },
  metrics: { tool: "worker_get_metrics", args: {} },
  // A job still running, for the session list and the cancel.
  background: { tool: "worker_dispatch_job", args: { command: "sleep 60.25" } },
  sessions: { tool: "worker_list_sessions", args: {} },
  cancel: { tool: "worker_cancel_job", args: (results: ToolResult[]) => ({ ...jobOf("background")(results), reason: "e2e" }) },
} satisfies Record<string, Turn>;
const TURNS = Object.values(SCRIPT);
const index = (name: keyof typeof SCRIPT): number => Object.keys(SCRIPT).indexOf(name);

let worker: E2eWorker;
let model: ScriptedModel;
let run: OpencodeRun;
let exit: OpencodeExit;

/** What opencode's tool_use event and the model's next request say of turn `name`. */
function toolCall(name: keyof typeof SCRIPT): { status?: string; output: string; modelSaw?: string } {
  const uses = exit.events.filter((event) => event.type === "tool_use");
  const use = uses[index(name)];
  expect(use?.part?.tool).toBe(SCRIPT[name].tool);
  const modelSaw = model.requests.at(-1)?.toolResults[index(name)]?.content;
  return { status: use?.part?.state?.status, output: use?.part?.state?.output ?? use?.part?.state?.error ?? "", modelSaw };
}

describeSandbox("the plugin in the real opencode, driven by a scripted model", () => {
  beforeAll(async () => {
    const binary = requireOpencodeBinary();
    worker = await startE2eWorker();
    model = await startScriptedModel([...TURNS, { say: "all done" }]);
    run = await startOpencodeRun({ binary, modelBaseURL: model.baseURL, pluginOptions: { address: worker.address } });
    exit = await run.exited;
  }, 240_000);
  afterAll(async () => {
    await run?.close();
    await model?.close();
    // A job the plugin failed to cancel keeps the worker's shutdown waiting for its grace period.
    await worker?.stop();
  }, 60_000);

  it("runs to the end: every scripted call made, then the final answer", () => {
    expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(exit.events.filter((event) => event.type === "tool_use")).toHaveLength(TURNS.length);
    expect(exit.events.filter((event) => event.type === "text").map((event) => event.part?.text)).toEqual(["all done"]);
  });

  it("offers the model all nine tools (a plugin that failed to load would offer none)", () => {
    const offered = model.requests.find((request) => request.tools.length > 0)?.tools ?? [];
    expect(offered).toEqual(expect.arrayContaining(TOOLS));
  });

  it("returns the dispatched job's output through worker_collect_output, with the id from the dispatch", () => {
    const dispatch = toolCall("dispatch");
    expect(dispatch.status).toBe("completed");
    const collect = toolCall("collect");
    expect(collect.status).toBe("completed");
    expect(collect.output).toContain(jobIdIn(dispatch.output));
    expect(collect.output).toContain("marker-42");
    // The model reads what opencode shows.
    expect(collect.modelSaw).toBe(collect.output);
  });

  it("returns a streamed job's output through worker_stream_job", () => {
    const stream = toolCall("stream");
    expect(stream.status).toBe("completed");
    expect(stream.output).toMatch(/tick-11\ntick-22\ntick-33/);
  });

  it.each([
    ["timeout", /killed at timeout 1 s: raise limits\./],
    ["memory", /killed at memory limit 64 MiB.*: raise limits\./],
  ] as const)("returns a job killed at its %s limit as a readable result with the reason and the hint", (name, hint) => {
    const failed = toolCall(name);
    // "completed" is opencode's word for a tool that answered; a thrown error would be "error".
    expect(failed.status).toBe("completed");
    expect(failed.output).toMatch(name === "timeout" ? /timed_out \(timeout\)/ : /failed \(memory_limit\)/);
    expect(failed.output).toMatch(hint);
    expect(failed.modelSaw).toBe(failed.output);
  });

  it("answers worker_get_status, worker_get_stream_url and worker_subscribe_stream about the dispatched job", () => {
    const jobId = jobIdIn(toolCall("dispatch").output);
    for (const name of ["status", "streamUrl", "subscribe"] as const) {
      const call = toolCall(name);
      expect({ name, status: call.status }).toEqual({ name, status: "completed" });
      expect(call.output).toContain(jobId);
    }
    expect(toolCall("status").output).toMatch(/: finished/);
    expect(toolCall("streamUrl").output).toContain(worker.address);
    expect(toolCall("subscribe").output).toContain("marker-42");
  });

  it("reports the worker's isolation through worker_get_metrics", () => {
    expect(toolCall("metrics").output).toMatch(/isolation: sandbox/);
  });

  it("lists a running job with worker_list_sessions and cancels it with worker_cancel_job", async () => {
    const jobId = jobIdIn(toolCall("background").output);
    expect(toolCall("sessions").output).toContain(jobId);
    expect(toolCall("cancel").output).toContain(jobId);
    expect(await (await worker.client.job(jobId)).status()).toMatchObject({ state: "cancelled", reason: "cancelled" });
  });
});
