import { describe, expect, it } from "@jest/globals";
import { SseUsageReader } from "./sse-usage.js";

const openAiStream = [
  ": keep-alive comment",
  'data: {"choices":[{"delta":{"content":"the word \\"usage\\" in text, and é"}}]}',
  "",
  'data: {"choices":[],',
  'data: "usage":{"prompt_tokens":120,"completion_tokens":7}}',
  "",
  "data: [DONE]",
  "",
  "",
].join("\r\n");

const anthropicStream = [
  "event: message_start",
  'data: {"type":"message_start","message":{"usage":{"input_tokens":30,"cache_read_input_tokens":1000,"output_tokens":1}}}',
  "",
  "event: content_block_delta",
  'data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"hi"}}',
  "",
  "event: message_delta",
  'data: {"type":"message_delta","usage":{"output_tokens":42}}',
  "",
  "",
].join("\n");

function read(chunks: Buffer[]) {
  const reader = new SseUsageReader();
  for (const chunk of chunks) reader.push(chunk);
  reader.end();
  return reader.tokens;
}

describe("SseUsageReader", () => {
  it.each([
    ["OpenAI, CRLF lines", openAiStream, { input: 120, output: 7 }],
    ["Anthropic, LF lines", anthropicStream, { input: 1030, output: 42 }],
  ])("reads the usage of %s split at every byte", (_name, stream, tokens) => {
    const bytes = Buffer.from(stream);
    for (let at = 0; at <= bytes.length; at += 1) expect(read([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(tokens);
  });

  it("reads a stream that arrives a byte at a time", () => {
    const bytes = Buffer.from(anthropicStream);
    expect(read(Array.from(bytes, (byte) => Buffer.of(byte)))).toEqual({ input: 1030, output: 42 });
  });

  it("joins an event's data lines, and counts a last event that lacks its blank line", () => {
    expect(
      read([Buffer.from('data: {"usage":\ndata: {"prompt_tokens":5,"completion_tokens":6}}\n\ndata: {"usage":{"completion_tokens":9}}')]),
    ).toEqual({
      input: 5,
      output: 9,
    });
  });

  it("ignores usage that is not the event's own, and data that is not JSON", () => {
    const stream = 'data: {"choices":[{"delta":{"content":"{\\"usage\\":{\\"prompt_tokens\\":99}}"}}]}\n\ndata: "usage" {not json\n\n';
    expect(read([Buffer.from(stream)])).toEqual({ input: 0, output: 0 });
  });

  it("skips an event too large to be a usage report without holding it", () => {
    const pad = "x".repeat(600 * 1024);
    const huge = `data: {"usage":{"prompt_tokens":1},\ndata: "a":"${pad}",\ndata: "b":"${pad}"}\n\n`;
    expect(read([Buffer.from(`${huge}data: {"usage":{"completion_tokens":3}}\n\n`)])).toEqual({ input: 0, output: 3 });
  });

  it("holds no more of a line without an end than the largest event it reads", () => {
    const reader = new SseUsageReader();
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    for (let i = 0; i < 64; i += 1) reader.push(chunk);
    // What it holds is private; this is the one place a test looks, since memory is the behaviour.
    expect((reader as unknown as { pending: string }).pending.length).toBeLessThanOrEqual(1024 * 1024);
  });
});
