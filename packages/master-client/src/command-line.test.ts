import { describe, expect, it } from "@jest/globals";
import { commandLine } from "./command-line.js";

describe("commandLine", () => {
  it("shows a shell line as sent, and argv with items quoted where a shell would need it", () => {
    expect(commandLine({ command: "make test", argv: [] })).toBe("make test");
    expect(commandLine({ command: "", argv: ["python3", "-c", "print(1)", "a/b.txt"] })).toBe('python3 -c "print(1)" a/b.txt');
  });

  it("shows an agent task as its model and prompt", () => {
    const agentTask = { prompt: "Fix the tests", model: "openai/gpt-5", agent: "", instructions: "" };
    expect(commandLine({ command: "", argv: [], agentTask })).toBe("agent task (openai/gpt-5): Fix the tests");
    expect(commandLine({ command: "", argv: [], agentTask: { ...agentTask, model: "" } })).toBe(
      "agent task (the worker's default model): Fix the tests",
    );
  });

  it("keeps a long or multi-line command to one readable line", () => {
    expect(commandLine({ command: "set -e\nmake\nmake test", argv: [] })).toBe("set -e…");
    expect(commandLine({ command: "x".repeat(500), argv: [] })).toBe(`${"x".repeat(200)}…`);
  });
});
