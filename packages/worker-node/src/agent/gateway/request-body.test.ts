import { describe, expect, it } from "@jest/globals";
import { forwardedBody } from "./request-body.js";

const body = (value: unknown) => Buffer.from(JSON.stringify(value));
const parsed = (buffer: Buffer): unknown => JSON.parse(buffer.toString());

describe("forwardedBody", () => {
  it("asks an OpenAI-compatible streamed chat or completion for its usage, keeping its other stream options", () => {
    expect(parsed(forwardedBody("openai-compatible", "/chat/completions", body({ stream: true })))).toEqual({
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(
      parsed(forwardedBody("openai-compatible", "/completions", body({ stream: true, stream_options: { include_usage: false, x: 1 } }))),
    ).toEqual({
      stream: true,
      stream_options: { include_usage: true, x: 1 },
    });
  });

  it("forwards every other body byte for byte", () => {
    const cases: [Parameters<typeof forwardedBody>[0], string, Buffer][] = [
      ["openai-compatible", "/chat/completions", body({ stream: false })],
      ["openai-compatible", "/chat/completions", Buffer.from("{not json")],
      ["openai-compatible", "/chat/completions", body([1, 2])],
      ["openai-compatible", "/responses", body({ stream: true })],
      ["anthropic", "/messages", body({ stream: true })],
    ];
    for (const [api, path, input] of cases) expect(forwardedBody(api, path, input)).toBe(input);
  });
});
