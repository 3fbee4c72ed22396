/**
 * The opt-in `bash` tool against a real sandboxed worker, called as opencode calls it: the command
 * runs in the sandbox over a copy of the project directory, and what it changes comes back to it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "@jest/globals";
import { eventually, startTestWorker, type TestWorker } from "../../../worker-node/test/harness.js";
import { freeUidBase } from "../../../worker-node/test/isolation/sandbox-harness.js";
import { describeSandbox } from "../../../worker-node/test/support/conditions.js";
import { processesRunning } from "../support/processes.js";
import { type LoadedPlugin, loadPlugin, toolContext } from "./plugin-harness.js";

/** Slot uids a worker uses from its base on: one per concurrent job, far fewer than this. */
const SLOT_RANGE = 64;
const PACKAGE_JSON = '{ "name": "remote-bash-project", "version": "1.0.0" }\n';

describeSandbox("the remote bash tool", () => {
  let worker: TestWorker;
  let uidBase: number;
  let plugin: LoadedPlugin;
  let project: string;

  beforeAll(async () => {
    uidBase = freeUidBase();
    worker = await startTestWorker({ security: { sandbox_uid_base: uidBase } });
    plugin = await loadPlugin({ address: worker.worker.address, remoteBash: true });
  });
  afterAll(async () => {
    await plugin?.dispose();
    await worker?.stop();
  });
  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), "remote-bash-project-"));
    writeFileSync(join(project, "package.json"), PACKAGE_JSON);
    writeFileSync(join(project, "old.txt"), "to be removed\n");
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  const cancelledJobs = async (): Promise<number> =>
    (await worker.client.metrics()).outcomes
      .filter((outcome) => outcome.state === "cancelled")
      .reduce((sum, outcome) => sum + outcome.count, 0);
  const bash = (args: Record<string, unknown>, recorded = toolContext(project)): Promise<string> => plugin.call("bash", args, recorded);

  it("runs the command in the sandbox over the project, applies its changes locally, and uploads nothing the second time", async () => {
    const recorded = toolContext(project);
    const text = await bash(
      { command: "echo made > made-remotely.txt && cat package.json && rm old.txt && id -u", description: "Make, read and remove files" },
      recorded,
    );
    // The project's package.json, read on the worker; then the uid the command ran as.
    expect(text.startsWith(PACKAGE_JSON)).toBe(true);
    const uid = Number(/^(\d+)$/m.exec(text.slice(PACKAGE_JSON.length))?.[1]);
    expect(uid).toBeGreaterThanOrEqual(uidBase);
    expect(uid).toBeLessThan(uidBase + SLOT_RANGE);
    expect(text).toMatch(/\n\nfiles changed locally: 1 added, 1 deleted\n {2}\+ made-remotely\.txt\n {2}- old\.txt$/);
    expect(readFileSync(join(project, "made-remotely.txt"), "utf8")).toBe("made\n");
    expect(existsSync(join(project, "old.txt"))).toBe(false);
    // Live output reached opencode under the call's description.
    expect(recorded.metadata.at(-1)).toMatchObject({
      title: "Make, read and remove files",
      metadata: { output: expect.stringContaining('"name"') },
    });

    const before = await worker.client.metrics();
    expect(before.blobsUploadedTotal).toBeGreaterThan(0);
    expect(await bash({ command: "true" })).toBe("(no output)");
    const after = await worker.client.metrics();
    expect(after.blobsUploadedTotal).toBe(before.blobsUploadedTotal);
    expect(after.blobBytesUploadedTotal).toBe(before.blobBytesUploadedTotal);
  });

  it("shows a failing command's output and exit code, and applies what it changed before failing", async () => {
    const text = await bash({ command: "echo to stderr >&2; touch half-done; exit 3" });
    expect(text).toBe("to stderr\n\nexit code 3\nfiles changed locally: 1 added\n  + half-done");
    expect(existsSync(join(project, "half-done"))).toBe(true);
  });

  it("runs in a workdir inside the project and refuses one outside it", async () => {
    mkdirSync(join(project, "sub"));
    writeFileSync(join(project, "sub", "inside.txt"), "x");
    expect(await bash({ command: "pwd | sed 's|.*/||'; ls", workdir: "sub" })).toBe("sub\ninside.txt");
    expect(await bash({ command: "ls", workdir: join(project, "sub") })).toBe("inside.txt");

    for (const workdir of ["..", "../elsewhere", "/etc"]) {
      const refused = await bash({ command: "touch escaped", workdir });
      expect(refused).toMatch(/^workdir ".*" is outside the project directory .*: the remote bash runs only inside it/);
    }
    expect(existsSync(join(project, "escaped"))).toBe(false);
  });

  it("stops the command at the call's timeout, saying so", async () => {
    const text = await bash({ command: "echo started; sleep 30", timeout: 1000 });
    expect(text).toMatch(/^started\n\nthe command was stopped after exceeding its timeout of 1000 ms\./);
  });

  it("cancels the job when the tool call is stopped, applying nothing and leaving no process", async () => {
    // A duration no other test uses, so the /proc scan finds this job's process and nothing else.
    const sleep = "sleep 62.91";
    const recorded = toolContext(project);
    const cancelledBefore = await cancelledJobs();
    const call = bash({ command: `echo started; touch before-abort; ${sleep}; touch after-sleep` }, recorded);
    await eventually(() => recorded.metadata.some((update) => update.metadata?.output?.includes("started")));
    expect(processesRunning("62.91").length).toBeGreaterThan(0);

    recorded.controller.abort();
    expect(await call).toBe("the command was cancelled: the tool call was stopped (no change was applied locally)");
    await eventually(async () => (await cancelledJobs()) === cancelledBefore + 1);
    expect(processesRunning("62.91")).toEqual([]);
    expect(existsSync(join(project, "before-abort"))).toBe(false);
    expect(existsSync(join(project, "old.txt"))).toBe(true);
  });

  it("registers no bash tool unless asked to", async () => {
    const off = await loadPlugin({ address: worker.worker.address });
    try {
      await expect(off.call("bash", { command: "true" })).rejects.toThrow("the plugin has no tool bash");
    } finally {
      await off.dispose();
    }
  });
});
