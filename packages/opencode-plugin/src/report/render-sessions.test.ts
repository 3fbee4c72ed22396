import { describe, expect, it } from "@jest/globals";
import { renderSessions } from "./render-sessions.js";

describe("renderSessions", () => {
  it("lists live sessions one a line, with their usage when known", () => {
    const text = renderSessions(
      [
        {
          sessionId: "s1",
          jobId: "build-42",
          state: "running",
          phase: "execute",
          ageMs: 12_345,
          usage: { cpuTimeMs: 900, memoryBytes: 64 * 1024 * 1024, memoryPeakBytes: 80 * 1024 * 1024, pids: 1 },
        },
        { sessionId: "s2", jobId: "lint-7", state: "queued", phase: "init", ageMs: 40 },
      ],
      "127.0.0.1:50051",
    );
    expect(text).toBe(
      [
        "2 live sessions on the worker at 127.0.0.1:50051:",
        "job build-42: running, phase execute, 12.3 s old · cpu 900 ms · memory 64 MiB (peak 80 MiB) · 1 process",
        "job lint-7: queued, phase init, 0.04 s old",
      ].join("\n"),
    );
  });

  it("says when there are none", () => {
    expect(renderSessions([], "127.0.0.1:50051")).toBe("no live sessions on the worker at 127.0.0.1:50051");
  });
});
