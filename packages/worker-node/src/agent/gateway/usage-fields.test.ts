import { describe, expect, it } from "@jest/globals";
import { readUsage, type TokenCount } from "./usage-fields.js";

const read = (...payloads: unknown[]): TokenCount => {
  const tokens = { input: 0, output: 0 };
  for (const payload of payloads) readUsage(payload, tokens);
  return tokens;
};

describe("readUsage", () => {
  it("reads OpenAI's chat, completions and responses usage", () => {
    expect(read({ usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } })).toEqual({ input: 10, output: 2 });
    expect(read({ usage: { input_tokens: 7, output_tokens: 3 } })).toEqual({ input: 7, output: 3 });
    expect(read({ type: "response.completed", response: { usage: { input_tokens: 5, output_tokens: 6 } } })).toEqual({
      input: 5,
      output: 6,
    });
  });

  it("takes Anthropic's running totals, cache reads and writes counted as input", () => {
    const start = {
      type: "message_start",
      message: { usage: { input_tokens: 3, cache_creation_input_tokens: 100, cache_read_input_tokens: 900, output_tokens: 1 } },
    };
    const delta = { type: "message_delta", usage: { output_tokens: 50 } };
    expect(read(start, delta, { ...delta, usage: { output_tokens: 80 } })).toEqual({ input: 1003, output: 80 });
  });

  it("ignores what is not usage: count_tokens' answer, nulls, negative or fractional counts", () => {
    expect(read({ input_tokens: 500 }, { usage: null }, { usage: { prompt_tokens: -1, completion_tokens: 1.5 } }, "text", null)).toEqual({
      input: 0,
      output: 0,
    });
  });
});
