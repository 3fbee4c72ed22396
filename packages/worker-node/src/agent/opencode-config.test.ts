import { describe, expect, it } from "@jest/globals";
import { GATEWAY_ADDS_THE_KEY, opencodeConfig } from "./opencode-config.js";
import type { ProviderSettings } from "./providers.js";

const provider: ProviderSettings = {
  id: "openai",
  api: "openai-compatible",
  baseUrl: "https://api.openai.com/v1",
  apiKey: "sk-secret",
  models: new Map([
    ["gpt-5", { context: 400000, output: 32000 }],
    ["gpt-5-mini", { context: 128000, output: 8192 }],
  ]),
};
const base = { provider, modelId: "gpt-5", baseUrl: "http://127.0.0.1:4141" };

describe("opencodeConfig", () => {
  it("names only the task's model, at the relay's address, with no key", () => {
    const config = opencodeConfig(base);
    expect(config).toEqual({
      $schema: "https://opencode.ai/config.json",
      model: "openai/gpt-5",
      small_model: "openai/gpt-5",
      autoupdate: false,
      share: "disabled",
      enabled_providers: ["openai"],
      permission: { edit: "allow", bash: "allow", external_directory: "allow" },
      provider: {
        openai: {
          npm: "@ai-sdk/openai-compatible",
          name: "openai",
          options: { baseURL: "http://127.0.0.1:4141" },
          models: { "gpt-5": { name: "gpt-5", tool_call: true, limit: { context: 400000, output: 32000 } } },
        },
      },
    });
    expect(JSON.stringify(config)).not.toContain("sk-secret");
  });

  it("uses the Anthropic SDK for an anthropic provider and adds the instructions file", () => {
    const anthropic = { ...provider, id: "anthropic", api: "anthropic" as const };
    const config = opencodeConfig({ ...base, provider: anthropic, instructionsPath: "/session/instructions.md" });
    expect(config).toMatchObject({
      instructions: ["/session/instructions.md"],
      // Not the key: a stand-in the Anthropic SDK needs to start at all.
      provider: { anthropic: { npm: "@ai-sdk/anthropic", options: { baseURL: "http://127.0.0.1:4141", apiKey: GATEWAY_ADDS_THE_KEY } } },
    });
    expect(JSON.stringify(config)).not.toContain("sk-secret");
  });

  it("throws for a model the provider does not have", () => {
    expect(() => opencodeConfig({ ...base, modelId: "gpt-4" })).toThrow("provider openai has no model gpt-4");
  });
});
