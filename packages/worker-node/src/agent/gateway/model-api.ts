/** The provider APIs the gateway speaks: what each serves, how it takes its key, how it words an error. */
export type ModelApi = "openai-compatible" | "anthropic";

/**
 * The POST paths served per API, relative to the provider's base URL: the ones OpenCode's providers call
 * (`/chat/completions` for openai-compatible, `/messages` for anthropic) and their siblings. Anything else
 * (model lists, files, fine-tuning) is refused: a delegated agent needs completions only.
 */
export const SERVED_PATHS: Readonly<Record<ModelApi, readonly string[]>> = {
  "openai-compatible": ["/chat/completions", "/completions", "/responses"],
  anthropic: ["/messages", "/messages/count_tokens"],
};

/** The header carrying the provider's key, in the form each API documents. */
export function credentialHeader(api: ModelApi, apiKey: string): [name: string, value: string] {
  return api === "anthropic" ? ["x-api-key", apiKey] : ["authorization", `Bearer ${apiKey}`];
}

/** An error body in the API's own shape, so the agent's SDK shows the message instead of a parse failure. */
export function errorBody(api: ModelApi, type: string, message: string): string {
  return JSON.stringify(api === "anthropic" ? { type: "error", error: { type, message } } : { error: { type, message } });
}
