import { describe, expect, it } from "@jest/globals";
import { tool } from "@opencode-ai/plugin";
import { DEFAULT_SETTINGS } from "../settings.js";
import { type DelegateTaskArgs, delegateTaskArgs, delegationSpecOf } from "./delegate-task.js";

const schema = tool.schema.object(delegateTaskArgs);

describe("worker_delegate_task's arguments", () => {
  it("need a prompt and take the rest as optional", () => {
    expect(schema.safeParse({}).success).toBe(false);
    expect(schema.safeParse({ prompt: "" }).success).toBe(false);
    expect(schema.safeParse({ prompt: "add tests" }).success).toBe(true);
    expect(schema.safeParse({ prompt: "x", limits: { model_max_requests: 0 } }).success).toBe(false);
    expect(schema.safeParse({ prompt: "x", files: { "a.txt": 3 } }).success).toBe(false);
  });

  it("describe every argument for the model", () => {
    for (const [name, arg] of Object.entries(delegateTaskArgs)) expect([name, (arg.description?.length ?? 0) > 20]).toEqual([name, true]);
  });
});

describe("delegationSpecOf", () => {
  it("makes an agent task, restricted, over the plugin's limits, without a model when none is set", () => {
    const spec = delegationSpecOf({ prompt: "add tests" }, { ...DEFAULT_SETTINGS, limits: { memory: "1GiB" }, network: "open" });
    expect(spec).toEqual({ agentTask: { prompt: "add tests" }, limits: { memory: "1GiB" }, network: "restricted" });
  });

  it("takes the plugin's delegateModel unless the call names a model", () => {
    const settings = { ...DEFAULT_SETTINGS, delegateModel: "fakeprov/default" };
    expect(delegationSpecOf({ prompt: "x" }, settings).agentTask?.model).toBe("fakeprov/default");
    expect(delegationSpecOf({ prompt: "x", model: "other/m" }, settings).agentTask?.model).toBe("other/m");
  });

  it("maps the agent, the files and every limit, the call's limits over the plugin's", () => {
    const args: DelegateTaskArgs = {
      prompt: "x",
      agent: "plan",
      files: { "notes/task.md": "do it" },
      limits: { timeout_ms: 60_000, memory_bytes: 2 ** 30, model_max_requests: 5, model_max_tokens: 10_000 },
    };
    expect(delegationSpecOf(args, { ...DEFAULT_SETTINGS, limits: { timeoutMs: 1000, cpu: 2 } })).toEqual({
      agentTask: { prompt: "x", agent: "plan" },
      files: { "notes/task.md": "do it" },
      limits: { cpu: 2, timeoutMs: 60_000, memory: 2 ** 30, modelMaxRequests: 5, modelMaxTokens: 10_000 },
      network: "restricted",
    });
  });
});
