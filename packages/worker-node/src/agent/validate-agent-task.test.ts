import { describe, expect, it } from "@jest/globals";
import { AgentTask } from "@opencode-worker/shared";
import type { AgentRuntime } from "./agent-runtime.js";
import type { ProviderSettings } from "./providers.js";
import { validateAgentTask } from "./validate-agent-task.js";

const provider: ProviderSettings = {
  id: "openai",
  api: "openai-compatible",
  baseUrl: "https://api.openai.com/v1",
  apiKey: "sk-never-shown",
  models: new Map([["gpt-5", { context: 400_000, output: 32_000 }]]),
};
const runtime: AgentRuntime = {
  install: { dir: "/opt/opencode/base", binary: "/opt/opencode/base/bin/opencode", version: "1.18.33" },
  providers: new Map([["openai", provider]]),
};
const noConfig = { mode: "", provider: "", model: "" };
const task = (fields: Partial<AgentTask>) => AgentTask.fromPartial({ prompt: "Fix it.", model: "openai/gpt-5", ...fields });

describe("validateAgentTask", () => {
  it("resolves the model from the task, else from SessionConfig, and the agent from the task, else the mode, else build", () => {
    expect(validateAgentTask(task({}), noConfig, runtime)).toMatchObject({ provider, modelId: "gpt-5", agent: "build", prompt: "Fix it." });
    const fromConfig = validateAgentTask(task({ model: "" }), { mode: "plan", provider: "openai", model: "gpt-5" }, runtime);
    expect(fromConfig).toMatchObject({ modelId: "gpt-5", agent: "plan" });
    expect(validateAgentTask(task({ agent: "build" }), { ...noConfig, mode: "plan" }, runtime).agent).toBe("build");
  });

  it("refuses each bad field by name, saying what the worker offers", () => {
    const refusal = (fields: Partial<AgentTask>, config = noConfig) => {
      try {
        validateAgentTask(task(fields), config, runtime);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refusal({ prompt: "  " })).toMatch(/^agent_task\.prompt: is empty/);
    expect(refusal({ prompt: "x".repeat(256 * 1024 + 1) })).toMatch(/^agent_task\.prompt: is 262145 bytes/);
    expect(refusal({ instructions: "x".repeat(64 * 1024 + 1) })).toMatch(/^agent_task\.instructions: is 65537 bytes/);
    expect(refusal({ model: "gpt-5" })).toBe('agent_task.model: expected "provider/model", got "gpt-5"');
    expect(refusal({ model: "anthropic/claude" })).toBe(
      'agent_task.model: unknown provider "anthropic": this worker\'s providers (agent.providers_file) are "openai"',
    );
    expect(refusal({ model: "openai/gpt-9" })).toBe('agent_task.model: openai has no model "gpt-9" on this worker; it offers "gpt-5"');
    expect(refusal({ model: "" })).toMatch(/^agent_task\.model: is empty and so are config\.provider and config\.model/);
    expect(refusal({ model: "" }, { mode: "", provider: "openai", model: "gpt-9" })).toMatch(/^config\.model: openai has no model/);
    expect(refusal({ agent: "general" })).toBe('agent_task.agent: expected one of "build", "plan", got "general"');
    expect(refusal({ agent: "" }, { ...noConfig, mode: "yolo" })).toMatch(/^config\.mode: expected one of/);
  });

  it("is FAILED_PRECONDITION on a worker that runs no agent tasks, with its reason", () => {
    expect(() => validateAgentTask(task({}), noConfig, { refusal: "this worker runs no agent tasks (agent.enabled is false)" })).toThrow(
      expect.objectContaining({
        code: "FAILED_PRECONDITION",
        message: "agent_task: this worker runs no agent tasks (agent.enabled is false)",
      }),
    );
  });

  it("never puts the provider's key in a message", () => {
    for (const fields of [{ model: "openai/x" }, { model: "nope/x" }, { prompt: "" }]) {
      expect(() => validateAgentTask(task(fields), noConfig, runtime)).toThrow(
        expect.not.objectContaining({ message: expect.stringContaining("sk-never") }),
      );
    }
  });
});
