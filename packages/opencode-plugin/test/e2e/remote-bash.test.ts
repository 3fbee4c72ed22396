import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import type { WorkerMetrics } from "@opencode-worker/master-client";
import { describeSandbox } from "../../../worker-node/test/support/conditions.js";
import { startE2eWorker, type E2eWorker } from "../support/e2e-worker.js";
import { requireOpencodeBinary } from "../support/opencode-binary.js";
import { startOpencodeRun, type OpencodeExit, type OpencodeRun } from "../support/opencode-run.js";
import { startScriptedModel, type ScriptedModel } from "../../../../test-support/scripted-model.js";

/**
 * The remote `bash` in the real opencode: with `remoteBash` on, the plugin's bash replaces opencode's
 * own, the scripted model's commands run in the worker's sandbox over the project opencode runs in,
 * and what they change is in that project when the tool returns.
 */

/** Slot uids a worker uses from its base on: one per concurrent job, far fewer than this. */
const SLOT_RANGE = 64;
const PACKAGE_JSON = '{ "name": "e2e-remote-bash", "version": "1.0.0" }\n';

let worker: E2eWorker;
let model: ScriptedModel;
let run: OpencodeRun;
let exit: OpencodeExit;
/** The worker's metrics as the second bash call is sent, i.e. after the first one returned. */
let beforeSecondCall: WorkerMetrics | undefined;

describeSandbox("the remote bash tool in the real opencode", () => {
  beforeAll(async () => {
    const binary = requireOpencodeBinary();
    worker = await startE2eWorker();
    model = await startScriptedModel([
      {
        tool: "bash",
        args: { command: "echo made > made-remotely.txt && cat package.json && rm old.txt && id -u", description: "Edit files" },
      },
      {
        tool: "bash",
        args: async () => {
          beforeSecondCall = await worker.client.metrics();
          return { command: "true", description: "Nothing" };
        },
      },
      { say: "all done" },
    ]);
    run = await startOpencodeRun({
      binary,
      modelBaseURL: model.baseURL,
      pluginOptions: { address: worker.address, remoteBash: true },
      projectFiles: { "package.json": PACKAGE_JSON, "old.txt": "to be removed\n" },
    });
    exit = await run.exited;
  }, 240_000);
  afterAll(async () => {
    await run?.close();
    await model?.close();
    await worker?.stop();
  }, 60_000);

  const bashCalls = (): { status?: string; output: string }[] =>
    exit.events
      .filter((event) => event.type === "tool_use")
      .map((event) => {
        expect(event.part?.tool).toBe("bash");
        return { status: event.part?.state?.status, output: event.part?.state?.output ?? event.part?.state?.error ?? "" };
      });

  it("runs to the end with both bash calls answered", () => {
    expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(bashCalls().map((call) => call.status)).toEqual(["completed", "completed"]);
    expect(exit.events.filter((event) => event.type === "text").map((event) => event.part?.text)).toEqual(["all done"]);
  });

  it("offers the model one bash tool: the plugin's replaces opencode's own", () => {
    const offered = model.requests.find((request) => request.tools.length > 0)?.tools ?? [];
    expect(offered.filter((name) => name === "bash")).toHaveLength(1);
    expect(offered).toEqual(expect.arrayContaining(["bash", "worker_stream_job"]));
  });

  it("ran the command in the worker's sandbox over the project and applied its changes to it", () => {
    const [first] = bashCalls();
    expect(first!.output.startsWith(PACKAGE_JSON)).toBe(true);
    const uid = Number(/^(\d+)$/m.exec(first!.output.slice(PACKAGE_JSON.length))?.[1]);
    expect(uid).toBeGreaterThanOrEqual(worker.uidBase);
    expect(uid).toBeLessThan(worker.uidBase + SLOT_RANGE);
    expect(first!.output).toMatch(/\n\nfiles changed locally: 1 added, 1 deleted\n/);
    expect(readFileSync(join(run.project, "made-remotely.txt"), "utf8")).toBe("made\n");
    expect(existsSync(join(run.project, "old.txt"))).toBe(false);
    // The model read what opencode shows.
    expect(model.requests.at(-1)?.toolResults[0]?.content).toBe(first!.output);
  });

  it("uploads no blob for a second call on the unchanged tree", async () => {
    expect(bashCalls()[1]!.output).toBe("(no output)");
    expect(beforeSecondCall?.blobsUploadedTotal).toBeGreaterThan(0);
    const after = await worker.client.metrics();
    expect(after.blobsUploadedTotal).toBe(beforeSecondCall!.blobsUploadedTotal);
    expect(after.blobBytesUploadedTotal).toBe(beforeSecondCall!.blobBytesUploadedTotal);
  });
});
