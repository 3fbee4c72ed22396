import type { ProviderApi, ProviderSettings } from "./providers.js";

/**
 * The OpenCode config a delegated agent runs with (the file OPENCODE_CONFIG names): one provider, one model,
 * reached at the relay's loopback address inside the sandbox. It carries no key (an anthropic provider only a
 * stand-in, below): without an apiKey opencode sends no Authorization header, and the model gateway adds the real
 * one outside the sandbox.
 */

/**
 * What an anthropic provider gets as its apiKey: @ai-sdk/anthropic refuses to start without one ("Anthropic API key
 * is missing", measured with 1.18.33), so it sends this as `x-api-key`, which the gateway drops for the real key.
 */
export const GATEWAY_ADDS_THE_KEY = "the-worker-gateway-adds-the-key";

export interface OpencodeConfigOptions {
  provider: ProviderSettings;
  /** One of the provider's models. */
  modelId: string;
  /** A file of extra instructions for the agent's system prompt, as the agent sees its path. */
  instructionsPath?: string;
  /** Where the agent reaches the gateway: the relay inside the sandbox, "http://127.0.0.1:4141". */
  baseUrl: string;
}

/** The AI SDK package opencode loads for each wire; both are bundled in the binary, so nothing is installed. */
const SDK_PACKAGE: Record<ProviderApi, string> = {
  "openai-compatible": "@ai-sdk/openai-compatible",
  anthropic: "@ai-sdk/anthropic",
};

/** The config as JSON-ready data. @throws Error when the model is not one of the provider's (the caller validated it). */
export function opencodeConfig(options: OpencodeConfigOptions): Record<string, unknown> {
  const { provider, modelId } = options;
  const limits = provider.models.get(modelId);
  if (limits === undefined) throw new Error(`provider ${provider.id} has no model ${modelId}`);
  const model = `${provider.id}/${modelId}`;
  return {
    $schema: "https://opencode.ai/config.json",
    model,
    // The session title request uses small_model; without it opencode picks another provider's model.
    small_model: model,
    autoupdate: false,
    share: "disabled",
    // Only this provider: others opencode knows of (from env, a workspace's config) are never offered.
    enabled_providers: [provider.id],
    // A non-interactive run auto-rejects what would ask; the task is to edit the work dir and run commands. Paths
    // outside the work dir too: the sandbox, not OpenCode's prompt, is what bounds the agent (it sees only its session).
    permission: { edit: "allow", bash: "allow", external_directory: "allow" },
    provider: {
      [provider.id]: {
        npm: SDK_PACKAGE[provider.api],
        name: provider.id,
        options: { baseURL: options.baseUrl, ...(provider.api === "anthropic" && { apiKey: GATEWAY_ADDS_THE_KEY }) },
        models: { [modelId]: { name: modelId, tool_call: true, limit: { context: limits.context, output: limits.output } } },
      },
    },
    ...(options.instructionsPath === undefined ? {} : { instructions: [options.instructionsPath] }),
  };
}
