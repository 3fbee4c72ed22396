import { afterAll, beforeAll, expect, it } from "@jest/globals";
import {
  SCRIPTED_ANTHROPIC_USAGE,
  startScriptedAnthropicModel,
  type ScriptedAnthropicModel,
} from "../../../../test-support/scripted-anthropic-model.js";
import { describeSandbox } from "../support/conditions.js";
import { runWriteAndBash, startAgentWorker, type AgentWorker } from "./agent-harness.js";

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
    const tokens = { input: SCRIPTED_ANTHROPIC_USAGE.input_tokens, output: SCRIPTED_ANTHROPIC_USAGE.output_tokens };
    await runWriteAndBash(a, MODEL, tokens);
    // Each request with the real key in Anthropic's header (the sandbox had only a stand-in), and no Authorization.
    for (const request of a.model.requests) {
      expect(request).toMatchObject({ apiKey: a.key, authorization: undefined, anthropicVersion: "2023-06-01" });
    }
  }, 90_000);
});
