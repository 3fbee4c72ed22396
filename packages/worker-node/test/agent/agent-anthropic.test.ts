import { afterAll, beforeAll, expect, it } from "@jest/globals";
import type { JobEvent } from "@opencode-worker/master-client";
import {
  SCRIPTED_ANTHROPIC_USAGE,
  startScriptedAnthropicModel,
  type ScriptedAnthropicModel,
} from "../../../../test-support/scripted-anthropic-model.js";
import { describeSandbox } from "../support/conditions.js";
import { startAgentWorker, type AgentWorker } from "./agent-harness.js";

/*
 * An agent task whose provider speaks Anthropic's Messages API: the real OpenCode ("@ai-sdk/anthropic") in the bwrap
 * sandbox, its model a scripted Anthropic server on the host's loopback reached only through the worker's gateway,
 * which adds the key as `x-api-key` and counts tokens from message_start / message_delta.
 */
const MODEL = "anthro/claude-scripted";
let a: AgentWorker<ScriptedAnthropicModel>;

describeSandbox("agent tasks on an Anthropic provider", () => {
  beforeAll(async () => {
    const server = await startScriptedAnthropicModel([]);
    a = await startAgentWorker({}, { id: "anthro", api: "anthropic", model: "claude-scripted", server });
  }, 30_000);

  afterAll(async () => {
    await a?.stop();
  });

  it("runs the agent against the Messages API: its file, bash and final text come back, the key went as x-api-key, tokens are counted", async () => {
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

    // The bash tool's output, as the model got it back in a tool_result block: the job's slot uid, never root.
    const slotUid = Number(a.toolResult(1).trim().split("\n")[0]);
    expect(slotUid).toBeGreaterThanOrEqual(300_000);

    // Title, write, bash, final text: each with the real key in Anthropic's header (the sandbox had only a stand-in),
    // and no Authorization at all.
    const requests = a.model.requests.length;
    expect(requests).toBeGreaterThanOrEqual(3);
    for (const request of a.model.requests) {
      expect(request).toMatchObject({ apiKey: a.key, authorization: undefined, anthropicVersion: "2023-06-01" });
    }
    expect(result.agent?.usage).toEqual({
      requests,
      inputTokens: SCRIPTED_ANTHROPIC_USAGE.input_tokens * requests,
      outputTokens: SCRIPTED_ANTHROPIC_USAGE.output_tokens * requests,
      refusedRequests: 0,
    });
    expect(result.agent?.toolCalls).toBe(2);

    const tools = events.flatMap((event) =>
      event.type === "agent_step" && event.kind === "tool" ? [`${event.tool}:${event.status}`] : [],
    );
    expect(tools).toEqual(["write:completed", "bash:completed"]);
    const calls = events.filter((event) => event.type === "model_call");
    expect(calls).toHaveLength(requests);
    for (const call of calls) {
      expect(call).toMatchObject({
        model: MODEL,
        httpStatus: 200,
        inputTokens: SCRIPTED_ANTHROPIC_USAGE.input_tokens,
        outputTokens: SCRIPTED_ANTHROPIC_USAGE.output_tokens,
      });
    }
  }, 90_000);
});
