import { describe, expect, it } from "@jest/globals";
import { AgentStepKind, type AgentStep } from "@opencode-worker/shared";
import { readFileSync } from "node:fs";
import { AgentEventReader, capUtf8, MAX_LINE_BYTES, MAX_STEP_TEXT_BYTES } from "./agent-events.js";

/** Lines captured from the real opencode 1.18.33 (`run --format json`) against the scripted model. */
function fixture(name: string): Buffer {
  return readFileSync(new URL(`../../test/fixtures/opencode/${name}`, import.meta.url));
}

function read(chunks: Buffer[]): { steps: AgentStep[]; reader: AgentEventReader } {
  const steps: AgentStep[] = [];
  const reader = new AgentEventReader((step) => steps.push(step));
  for (const chunk of chunks) reader.push(chunk);
  reader.end();
  return { steps, reader };
}

const { STEP_STARTED, STEP_FINISHED, TOOL, TEXT, ERROR } = {
  STEP_STARTED: AgentStepKind.AGENT_STEP_KIND_STEP_STARTED,
  STEP_FINISHED: AgentStepKind.AGENT_STEP_KIND_STEP_FINISHED,
  TOOL: AgentStepKind.AGENT_STEP_KIND_TOOL,
  TEXT: AgentStepKind.AGENT_STEP_KIND_TEXT,
  ERROR: AgentStepKind.AGENT_STEP_KIND_ERROR,
};
const plain = { tool: "", status: "", text: "" };

describe("AgentEventReader", () => {
  const run = fixture("run-tool-calls.jsonl");
  const expectedSteps: AgentStep[] = [
    { ...plain, kind: STEP_STARTED },
    { kind: TOOL, tool: "bash", status: "completed", text: "echo hello > made.txt && echo wrote" },
    { ...plain, kind: STEP_FINISHED },
    { ...plain, kind: STEP_STARTED },
    { kind: TOOL, tool: "read", status: "error", text: expect.stringMatching(/^File not found: .*absent\.txt$/) as unknown as string },
    { ...plain, kind: STEP_FINISHED },
    { ...plain, kind: STEP_STARTED },
    { ...plain, kind: TEXT, text: "done" },
    { ...plain, kind: STEP_FINISHED },
  ];

  it("turns a real run's lines into steps, tool calls with their status, text, and the outcome", () => {
    const { steps, reader } = read([run]);
    expect(steps).toEqual(expectedSteps);
    expect(reader.outcome()).toEqual({ finalText: "done", steps: 3, toolCalls: 2, failedToolCalls: 1 });
  });

  it("reads the same from lines split at every byte", () => {
    const { steps, reader } = read([...run].map((byte) => Buffer.of(byte)));
    expect(steps).toEqual(expectedSteps);
    expect(reader.outcome().finalText).toBe("done");
  });

  it("reads a real error line's message", () => {
    const { steps } = read([fixture("run-error.jsonl")]);
    expect(steps).toEqual([{ ...plain, kind: ERROR, text: "Unexpected server error. Check server logs for details." }]);
  });

  it("skips lines that are not JSON, not objects, or of an unknown type", () => {
    const { steps } = read([Buffer.from('warming up\n42\nnull\n{"type":"reasoning","part":{}}\n\n{"type":"step_start"}\n')]);
    expect(steps).toEqual([{ ...plain, kind: STEP_STARTED }]);
  });

  it("skips a line over 1 MiB whole and reads the next one", () => {
    const huge = JSON.stringify({ type: "text", part: { text: "x".repeat(MAX_LINE_BYTES) } });
    const { steps, reader } = read([
      Buffer.from(huge.slice(0, 1000)),
      Buffer.from(`${huge.slice(1000)}\n`),
      Buffer.from('{"type":"text","part":{"text":"after"}}'),
    ]);
    expect(steps).toEqual([{ ...plain, kind: TEXT, text: "after" }]);
    expect(reader.outcome().finalText).toBe("after");
  });

  it("never reads the rest of an over-long line as a line of its own", () => {
    const filler = Buffer.alloc(MAX_LINE_BYTES + 1, "x");
    const { steps } = read([filler, Buffer.from('{"type":"text","part":{"text":"smuggled"}}\n{"type":"step_start"}\n')]);
    expect(steps).toEqual([{ ...plain, kind: STEP_STARTED }]);
  });

  it("caps a step's text at 4 KiB but keeps the whole final text", () => {
    const text = "é".repeat(3000);
    const { steps, reader } = read([Buffer.from(`${JSON.stringify({ type: "text", part: { text } })}\n`)]);
    expect(steps[0]?.text).toBe("é".repeat(MAX_STEP_TEXT_BYTES / 2));
    expect(reader.outcome().finalText).toBe(text);
  });
});

describe("capUtf8", () => {
  it.each([
    ["ascii", "abcdef", 4, "abcd"],
    ["a cut inside a two-byte character", "aé", 2, "a"],
    ["a cut inside a four-byte character", "a😀b", 4, "a"],
    ["a cut after a four-byte character", "a😀b", 5, "a😀"],
    ["text that fits", "a😀", 5, "a😀"],
  ])("cuts %s at a character boundary", (_what, text, max, expected) => {
    expect(capUtf8(text, max)).toBe(expected);
    expect(Buffer.byteLength(capUtf8(text, max))).toBeLessThanOrEqual(max);
  });
});
