import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { JobEvent } from "@opencode-worker/master-client";
import { SCRIPTED_USAGE } from "../../../../test-support/scripted-model.js";
import { startTestWorker } from "../harness.js";
import { describeSandbox, waitFor } from "../support/conditions.js";
import { MODEL, startAgentWorker, type AgentWorker } from "./agent-harness.js";

/*
 * Delegated agent tasks for real: the installed OpenCode runs inside the bwrap sandbox as the slot uid, its model a
 * scripted OpenAI-compatible server on the host's loopback that it reaches only through the worker's gateway.
 */
let a: AgentWorker;

describeSandbox("agent tasks", () => {
  beforeAll(async () => {
    // OPEN allowed, so that an agent task asking for it meets the agent's own rule.
    a = await startAgentWorker({ security: { allow_open_network: true } });
  }, 30_000);

  afterAll(async () => {
    await a?.stop();
  });

  it("runs the agent in the sandbox: its file and final text come back, its bash ran as the slot uid, its model use is counted", async () => {
    a.model.setScript([
      { tool: "write", args: { filePath: "hello.txt", content: "written by the agent\n" } },
      { tool: "bash", args: { command: "id -u", description: "Print the uid" } },
      { say: "Wrote hello.txt." },
    ]);
    const job = await a.t.client.dispatch({ agentTask: { prompt: "Write hello.txt, then tell me your uid.", model: MODEL } });
    const events: JobEvent[] = [];
    for await (const event of job.events()) events.push(event);
    const result = await job.wait();

    expect(result.message).toBe("exited with code 0");
    expect(result.state).toBe("finished");
    expect(result.agent?.finalText).toBe("Wrote hello.txt.");
    const added = result.workspaceChanges?.changes.find((change) => change.path === "hello.txt");
    expect(added).toMatchObject({ kind: "added", type: "file" });
    expect(added?.content?.toString()).toBe("written by the agent\n");

    // The bash tool's output, as the model got it back: the job's slot uid, never root.
    const uid = a.toolResult(1);
    const slotUid = Number(uid.trim().split("\n")[0]);
    expect(slotUid).toBeGreaterThanOrEqual(300_000);

    // Title, write, bash, final text: every request went through the gateway, and carried the key only there.
    const requests = a.model.requests.length;
    expect(requests).toBeGreaterThanOrEqual(3);
    expect(a.model.requests.every((request) => request.authorization === `Bearer ${a.key}`)).toBe(true);
    expect(result.agent?.usage).toEqual({
      requests,
      inputTokens: SCRIPTED_USAGE.prompt_tokens * requests,
      outputTokens: SCRIPTED_USAGE.completion_tokens * requests,
      refusedRequests: 0,
    });
    expect(result.agent?.opencodeVersion).toBe("1.18.33");
    expect(result.agent?.toolCalls).toBe(2);

    // Progress as structured events: each tool call with its status, each model call with its tokens.
    const tools = events.flatMap((event) =>
      event.type === "agent_step" && event.kind === "tool" ? [`${event.tool}:${event.status}`] : [],
    );
    expect(tools).toEqual(["write:completed", "bash:completed"]);
    const calls = events.filter((event) => event.type === "model_call");
    expect(calls).toHaveLength(requests);
    expect(calls[0]).toMatchObject({ model: MODEL, httpStatus: 200, inputTokens: 100, outputTokens: 20 });
    const metrics = await a.t.client.metrics();
    expect(metrics.modelRequestsTotal).toBe(requests);
    expect(metrics.modelTokensTotal).toBe(requests * SCRIPTED_USAGE.total_tokens);
  }, 90_000);

  it("stops the agent at its model budget: request N+1 is refused and the job ends with the gateway's reason", async () => {
    // An agent that never stops calling tools.
    a.model.setScript(Array.from({ length: 50 }, () => ({ tool: "bash", args: { command: "echo again", description: "Again" } })));
    const job = await a.t.client.dispatch({ agentTask: { prompt: "Loop.", model: MODEL }, limits: { modelMaxRequests: 3 } });
    const result = await job.wait();

    expect(result.reason).toBe("model_budget");
    expect(result.state).toBe("failed");
    expect(result.message).toContain("limits.model_max_requests");
    expect(result.agent?.usage.requests).toBe(3);
    expect(result.agent?.usage.refusedRequests).toBeGreaterThanOrEqual(1);
    // The provider saw exactly the budget, never the refused request.
    expect(a.model.requests).toHaveLength(3);
  }, 90_000);

  it("cancels an agent mid-tool-call: its whole tree and its gateway go, and the session is destroyed", async () => {
    a.model.setScript([{ tool: "bash", args: { command: "sleep 600", description: "Wait a long time" } }, { say: "Never." }]);
    const job = await a.t.client.dispatch({ agentTask: { prompt: "Wait.", model: MODEL } });
    const socket = join(a.t.baseDir, "sessions", `session-${job.sessionId}`, "gateway", "model.sock");
    // The model has answered the main request with the bash call; a moment later the agent runs it.
    await waitFor(
      () => a.model.requests.some((request) => request.tools.includes("bash")),
      () => "the agent's main request",
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await job.cancel("the test is done with it");
    const result = await job.wait();

    expect(result.state).toBe("cancelled");
    expect(result.message).toBe("cancelled: the test is done with it");
    expect(existsSync(socket)).toBe(false);
    expect(await a.t.sessionDirs()).toEqual([]);
    expect(result.agent?.usage.requests).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it("refuses what it cannot run, naming the field", async () => {
    await expect(a.t.client.dispatch({ agentTask: { prompt: "x", model: "nope/fake" } })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining('agent_task.model: unknown provider "nope"'),
    });
    await expect(a.t.client.dispatch({ agentTask: { prompt: "x", model: "fakeprov/gpt-9" } })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining('fakeprov has no model "gpt-9"'),
    });
    await expect(a.t.client.dispatch({ command: "true", limits: { modelMaxRequests: 2 } })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("limits.model_max_requests"),
    });
    await expect(a.t.client.dispatch({ agentTask: { prompt: "x", model: MODEL }, network: "open" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("an agent task runs with network RESTRICTED"),
    });
  });

  it("refuses agent tasks on a worker without OpenCode or without providers, with the fix", async () => {
    const noOpencode = await startTestWorker({ agent: { opencode_dir: "/nonexistent/opencode" } });
    const noProviders = await startTestWorker();
    try {
      await expect(noOpencode.client.dispatch({ agentTask: { prompt: "x", model: MODEL } })).rejects.toMatchObject({
        code: "FAILED_PRECONDITION",
        message: expect.stringContaining("agent.opencode_dir"),
      });
      await expect(noProviders.client.dispatch({ agentTask: { prompt: "x", model: MODEL } })).rejects.toMatchObject({
        code: "FAILED_PRECONDITION",
        message: expect.stringContaining("agent.providers_file"),
      });
      expect((await noProviders.client.metrics()).opencodeVersion).toBe("");
      expect((await a.t.client.metrics()).opencodeVersion).toBe("1.18.33");
    } finally {
      await Promise.all([noOpencode.stop(), noProviders.stop()]);
    }
  });
});
