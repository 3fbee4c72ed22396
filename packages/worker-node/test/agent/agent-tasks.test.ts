import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SCRIPTED_USAGE } from "../../../../test-support/scripted-model.js";
import { startTestWorker } from "../harness.js";
import { describeSandbox, waitFor } from "../support/conditions.js";
import { MODEL, runWriteAndBash, startAgentWorker, type AgentWorker } from "./agent-harness.js";

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
    const { requests } = await runWriteAndBash(a, MODEL, { input: SCRIPTED_USAGE.prompt_tokens, output: SCRIPTED_USAGE.completion_tokens });
    // The key reached the provider, as OpenAI's Bearer token, only from the gateway.
    expect(a.model.requests.every((request) => request.authorization === `Bearer ${a.key}`)).toBe(true);
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
