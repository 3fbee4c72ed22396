/** Tokens a model response reported, as the provider counted them. */
export interface TokenCount {
  input: number;
  output: number;
}

/**
 * Reads the usage one payload reports into `tokens`: a non-streamed body, or one server-sent event's data.
 * Providers report running totals (Anthropic's `message_delta` repeats the output so far), so a reported
 * field replaces the count, never adds to it. Where usage sits:
 * - OpenAI chat and completions: `usage.{prompt_tokens, completion_tokens}` (in a stream, the last chunk);
 * - OpenAI responses: `usage.{input_tokens, output_tokens}`, streamed under `response.usage`;
 * - Anthropic: `usage.{input_tokens, output_tokens}`, streamed as `message_start`'s `message.usage` and
 *   `message_delta`'s `usage`. Its cache reads and writes are counted as input, as OpenAI's prompt_tokens
 *   count cached tokens: OpenCode caches most of every prompt, so input_tokens alone would be a small part.
 */
export function readUsage(payload: unknown, tokens: TokenCount): void {
  if (!isRecord(payload)) return;
  for (const usage of [payload.usage, fieldOf(payload.message, "usage"), fieldOf(payload.response, "usage")]) {
    if (!isRecord(usage)) continue;
    const input = count(usage.prompt_tokens) ?? count(usage.input_tokens);
    if (input !== undefined)
      tokens.input = input + (count(usage.cache_creation_input_tokens) ?? 0) + (count(usage.cache_read_input_tokens) ?? 0);
    const output = count(usage.completion_tokens) ?? count(usage.output_tokens);
    if (output !== undefined) tokens.output = output;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fieldOf(value: unknown, name: string): unknown {
  return isRecord(value) ? value[name] : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
