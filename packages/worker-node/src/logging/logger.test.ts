import { describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import { prettyLines } from "./logger.js";

describe("pretty log lines", () => {
  it("writes one readable line per entry: time, level name, message, then the fields", () => {
    const lines: string[] = [];
    const log = pino(
      { level: "info" },
      prettyLines((text) => lines.push(text), false),
    );
    log.warn({ jobId: "j1", reason: "timeout", processesKilled: 3 }, "job killed");
    log.info("worker stopped");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: job killed \{"jobId":"j1","reason":"timeout","processesKilled":3\}\n$/);
    expect(lines[1]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: worker stopped\n$/);
  });

  it("colours only when asked (a terminal)", () => {
    const lines: string[] = [];
    pino(
      {},
      prettyLines((text) => lines.push(text), true),
    ).info("hello");
    expect(lines[0]).toContain("\u001b[");
  });
});
