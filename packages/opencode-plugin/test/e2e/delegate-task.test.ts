import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { describeSandbox } from "../../../worker-node/test/support/conditions.js";
import { startE2eWorker, type E2eWorker } from "../support/e2e-worker.js";
import { requireOpencodeBinary } from "../support/opencode-binary.js";
import { startOpencodeRun, type OpencodeExit, type OpencodeRun } from "../support/opencode-run.js";
import { SCRIPTED_USAGE, startScriptedModel, type ScriptedModel } from "../../../../test-support/scripted-model.js";

/**
 * Delegation end to end: opencode on the master (the plugin loaded, scripted model A) calls
 * worker_delegate_task; a real worker runs a fresh opencode in its sandbox on a copy of the project,
 * whose model (scripted model B on the host's loopback) it reaches only through the worker's gateway,
 * which adds the key of the providers file. B makes the agent write a file and run `id -u`, then answers.
 */

/** Slot uids a worker uses from its base on: one per concurrent job, far fewer than this. */
const SLOT_RANGE = 64;
/** Where the worker's set-up (scripts/setup.sh) installs OpenCode. */
const OPENCODE_DIR = "/opt/opencode/base";
const WRITTEN = "written by the delegated agent\n";
const FINAL_TEXT = "FINAL: wrote delegated.txt and ran id -u";

let keyDir: string;
let key: string;
let worker: E2eWorker;
let modelA: ScriptedModel;
let modelB: ScriptedModel;
let run: OpencodeRun;
let exit: OpencodeExit;

describeSandbox("worker_delegate_task in the real opencode, to a real opencode on the worker", () => {
  beforeAll(async () => {
    const binary = requireOpencodeBinary();
    if (!existsSync(join(OPENCODE_DIR, "node_modules/opencode-linux-x64/bin/opencode"))) {
      throw new Error(`OpenCode is not installed at ${OPENCODE_DIR}: run \`bash scripts/setup.sh\``);
    }
    modelB = await startScriptedModel([
      { tool: "write", args: { filePath: "delegated.txt", content: WRITTEN } },
      { tool: "bash", args: { command: "id -u", description: "Show the user id" } },
      { say: FINAL_TEXT },
    ]);
    // The key and the providers file live outside everything the sandbox binds; the key file is the worker's alone.
    keyDir = mkdtempSync(join(tmpdir(), "ocw-e2e-keys-"));
    key = `sk-e2e-${randomBytes(12).toString("hex")}`;
    const keyFile = join(keyDir, "fakeprov.key");
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    const providersFile = join(keyDir, "providers.json");
    const providers = { fakeprov: { api: "openai-compatible", base_url: modelB.baseURL, api_key_file: keyFile, models: { fake: {} } } };
    writeFileSync(providersFile, JSON.stringify({ providers }));
    worker = await startE2eWorker([
      "--agent.enabled=true",
      `--agent.opencode_dir=${OPENCODE_DIR}`,
      `--agent.providers_file=${providersFile}`,
    ]);

    modelA = await startScriptedModel([
      {
        tool: "worker_delegate_task",
        args: {
          prompt: "Write delegated.txt, then run id -u, then say what you did.",
          model: "fakeprov/fake",
          limits: { timeout_ms: 180_000 },
        },
      },
      { say: "delegation done" },
    ]);
    run = await startOpencodeRun({
      binary,
      modelBaseURL: modelA.baseURL,
      pluginOptions: { address: worker.address },
      projectFiles: { "README.md": "# a project to delegate work on\n" },
    });
    exit = await run.exited;
  }, 300_000);
  afterAll(async () => {
    await run?.close();
    await modelA?.close();
    await modelB?.close();
    await worker?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  }, 60_000);

  const delegation = (): { status?: string; output: string } => {
    const calls = exit.events.filter((event) => event.type === "tool_use" && event.part?.tool === "worker_delegate_task");
    expect(calls).toHaveLength(1);
    const state = calls[0]!.part?.state;
    return { status: state?.status, output: state?.output ?? state?.error ?? "" };
  };

  it("offers model A the tool, and A's call of it completes", () => {
    expect(exit.code).toBe(0);
    expect(modelA.requests.find((request) => request.tools.length > 0)?.tools).toContain("worker_delegate_task");
    expect(delegation().status).toBe("completed");
    // What A read is what the tool returned.
    expect(modelA.requests.at(-1)?.toolResults[0]?.content).toBe(delegation().output);
  });

  it("returns B's final text, the change and the model use, counted by the gateway", () => {
    const { output } = delegation();
    expect(output).toMatch(/^delegated task, job \S+: finished/);
    expect(output).toContain(`final text:\n${FINAL_TEXT}`);
    expect(output).toMatch(/changes \(1, applied to the project\):\n {2}added delegated\.txt \(\d+ bytes\)/);
    expect(output).toContain(`--- delegated.txt\n${WRITTEN.trimEnd()}`);
    // Every request B answered went through the gateway, which read the usage B reported.
    const requests = modelB.requests.length;
    expect(requests).toBeGreaterThanOrEqual(3);
    expect(output).toContain(
      `model use: ${requests} requests, ${requests * SCRIPTED_USAGE.prompt_tokens} tokens in, ${requests * SCRIPTED_USAGE.completion_tokens} tokens out`,
    );
    expect(output).toMatch(/agent: \d+ steps, 2 tool calls · opencode 1\.18\.33/);
  });

  it("ran the agent's tools in the worker's sandbox, as a slot uid", () => {
    const bashResult = modelB.requests.at(-1)?.toolResults[1]?.content ?? "";
    const uid = Number(/^\s*(\d+)\s*$/m.exec(bashResult)?.[1]);
    expect(uid).toBeGreaterThanOrEqual(worker.uidBase);
    expect(uid).toBeLessThan(worker.uidBase + SLOT_RANGE);
  });

  it("applied the agent's file to the master's project", () => {
    expect(readFileSync(join(run.project, "delegated.txt"), "utf8")).toBe(WRITTEN);
  });

  it("gave B the key of the providers file, added by the gateway", () => {
    expect(modelB.requests.length).toBeGreaterThan(0);
    expect(new Set(modelB.requests.map((request) => request.authorization))).toEqual(new Set([`Bearer ${key}`]));
  });
});
