import { describe, expect, it } from "@jest/globals";
import type { JobArtifact } from "@opencode-worker/master-client";
import { excerptsOf, jobResult } from "../../test/support/job-result.js";
import { countNewlines, excerptOf } from "./excerpt.js";
import { OutputDigest } from "./output-digest.js";
import { renderResult } from "./render-result.js";

const artifact = (path: string, sizeBytes: number): JobArtifact => ({ path, sizeBytes, sha256: "0".repeat(64) });

describe("renderResult", () => {
  it("shows a finished job: outcome, usage, then both streams", () => {
    const result = jobResult({
      stdout: Buffer.from("hello\nworld\n"),
      stderr: Buffer.from("warning: unused variable\n"),
      durationMs: 1234,
      cpuTimeMs: 12,
      memoryPeakBytes: 3 * 1024 * 1024,
    });
    expect(renderResult(result, excerptsOf(result, 4096), 4096)).toBe(
      [
        "job job-1: finished, exit code 0 · 1.23 s · peak memory 3 MiB · cpu 12 ms",
        "stdout (12 bytes, 2 lines):",
        "hello",
        "world",
        "stderr (25 bytes, 1 line):",
        "warning: unused variable",
      ].join("\n"),
    );
  });

  it("shows a job the worker stopped: state and reason, how it ended, and the worker's hint", () => {
    const result = jobResult({
      state: "timed_out",
      reason: "timeout",
      exitCode: undefined,
      signal: "SIGKILL",
      timedOut: true,
      durationMs: 1003,
      message: "killed at timeout 1 s: raise limits.timeoutMs",
      stdout: Buffer.from("started\n"),
    });
    expect(renderResult(result, excerptsOf(result, 4096), 4096)).toBe(
      [
        "job job-1: timed_out (timeout), killed by SIGKILL · 1.00 s",
        "killed at timeout 1 s: raise limits.timeoutMs",
        "stdout (8 bytes, 1 line):",
        "started",
        "stderr: empty",
      ].join("\n"),
    );
  });

  it("shows the worker's hint for a job that exited non-zero, and the limits it could not enforce", () => {
    const result = jobResult({
      state: "failed",
      reason: "exited",
      exitCode: 2,
      message: "exited with code 2",
      unenforcedLimits: ["limits.pids (no pids cgroup)"],
    });
    expect(renderResult(result, excerptsOf(result, 4096), 4096)).toBe(
      [
        "job job-1: failed (exited), exit code 2 · 1.23 s",
        "exited with code 2",
        "not enforced on this worker: limits.pids (no pids cgroup)",
        "stdout: empty",
        "stderr: empty",
      ].join("\n"),
    );
  });

  it("lists artifacts with their sizes, and those not collected with why", () => {
    const result = jobResult({
      artifacts: [artifact("report.xml", 2048), artifact("coverage/lcov.info", 1_500_000), artifact("empty.log", 0)],
      skippedArtifacts: [{ path: "core", reason: "larger than maxArtifactBytes" }],
    });
    expect(renderResult(result, excerptsOf(result, 4096), 4096)).toBe(
      [
        "job job-1: finished, exit code 0 · 1.23 s",
        "stdout: empty",
        "stderr: empty",
        "artifacts (3, 1.4 MiB):",
        "  report.xml (2 KiB)",
        "  coverage/lcov.info (1.4 MiB)",
        "  empty.log (0 bytes)",
        "not collected: core (larger than maxArtifactBytes)",
      ].join("\n"),
    );
  });

  it("caps the artifact list at a quarter of the budget and counts the rest", () => {
    // The list may use 1,024 - 40 bytes of a 4,096-byte budget: its 16-byte first line and 35 lines of 26 bytes and a newline.
    const artifacts = Array.from({ length: 100 }, (_, index) => artifact(`out/part-${String(index).padStart(3, "0")}.bin`, 1024));
    const skippedArtifacts = ["a", "b", "c", "d"].map((path) => ({ path, reason: "a symlink" }));
    const result = jobResult({ artifacts, unlistedArtifacts: 5, skippedArtifacts, unlistedSkippedArtifacts: 2 });
    const text = renderResult(result, excerptsOf(result, 4096), 4096);
    expect(text).toBe(
      [
        "job job-1: finished, exit code 0 · 1.23 s",
        "stdout: empty",
        "stderr: empty",
        // The total size is left out: the worker did not list 5 of them.
        "artifacts (105):",
        ...artifacts.slice(0, 35).map((item) => `  ${item.path} (1 KiB)`),
        "  … and 70 more",
        "not collected: a (a symlink)",
        "not collected: b (a symlink)",
        "not collected: c (a symlink)",
        "not collected: … and 3 more",
      ].join("\n"),
    );
  });

  it("stays under 2,000 lines with the shortest lines in both streams and the shortest artifact paths", () => {
    const budget = 64 * 1024;
    const lines = Buffer.from("x\n".repeat(10_000));
    const artifacts = Array.from({ length: 3000 }, (_, index) => artifact(String(index), 1));
    const result = jobResult({ stdout: lines, stderr: lines, artifacts });
    const rendered = renderResult(result, excerptsOf(result, budget), budget);
    expect(rendered.split("\n").length).toBeLessThanOrEqual(2000);
    expect(Buffer.byteLength(rendered)).toBeLessThanOrEqual(budget);
  });
});

/** A seeded generator (mulberry32): the same cases on every run, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe("renderResult on random output", () => {
  const random = seeded(8);
  const below = (limit: number): number => Math.floor(random() * limit);
  const pick = <T>(items: readonly T[]): T => items[below(items.length)]!;
  const PIECES = ["word", "x", "é", "😀", " ", "\t", "\x1b[31m", "\x1b[0m", "\x1b[1;32mok\x1b[0m", "→"];

  /** Text of about `bytes` bytes whose lines are about `lineChars` characters (Infinity: one line), maybe with CRLF. */
  function text(bytes: number, lineChars: number, crlf: boolean, endsWithNewline: boolean): Buffer {
    const block: string[] = [];
    let blockBytes = 0;
    for (let column = 0; blockBytes < Math.min(bytes, 64 * 1024); column += 1) {
      const piece = column >= lineChars * (0.5 + random()) ? (crlf ? "\r\n" : "\n") : pick(PIECES);
      if (piece.endsWith("\n")) column = -1;
      block.push(piece);
      blockBytes += Buffer.byteLength(piece);
    }
    const once = Buffer.from(block.join(""));
    const repeated = Buffer.concat(Array.from({ length: Math.ceil(bytes / Math.max(1, once.length)) }, () => once));
    // Cut at a character boundary, without a colour code cut short: the stream itself is well-formed text.
    const body = repeated
      .toString("utf8", 0, bytes)
      .replace(/\uFFFD$/, "")
      .replace(/\x1b(?:\[[\d;]*)?$/, "")
      .replace(/\n$/, "");
    return Buffer.from(endsWithNewline ? `${body}\n` : body);
  }

  function stream(): Buffer {
    const kind = random();
    if (kind < 0.2) return Buffer.alloc(0);
    const bytes = kind < 0.5 ? below(2048) : kind < 0.85 ? below(200 * 1024) : below(3 * 1024 * 1024);
    return text(bytes, pick([1, 3, 20, 80, 300, 5000, Infinity]), random() < 0.2, random() < 0.7);
  }

  const SECTION = /^(stdout|stderr) \([^;)]*?(?:, ([\d,]+) lines?)?; first ([\d,]+) lines? and last ([\d,]+) lines? shown\):$/;
  const LEFT_OUT = /^\[… (?:[^,]*, ([\d,]+) lines? left out …\]|the last .* \(([\d,]+) lines? left out in all\) …\])$/;
  const number = (digits: string | undefined): number => Number((digits ?? "NaN").replaceAll(",", ""));

  /** Every elided section's shown lines plus the lines it says it left out make the lines its header counts. */
  function checkLineCounts(rendered: string): number {
    const lines = rendered.split("\n");
    let sections = 0;
    lines.forEach((line, index) => {
      const header = SECTION.exec(line);
      if (header === null || header[2] === undefined) return;
      const nextHeader = lines.findIndex((other, at) => at > index && /^(stdout|stderr|artifacts)\b/.test(other));
      const section = lines.slice(index + 1, nextHeader === -1 ? undefined : nextHeader);
      const leftOut = section.map((other) => LEFT_OUT.exec(other)).filter((match) => match !== null);
      const counted = leftOut.map((match) => number(match[1] ?? match[2])).at(-1) ?? 0;
      expect(number(header[3]) + number(header[4]) + counted).toBe(number(header[2]));
      sections += 1;
    });
    return sections;
  }

  it("stays within the budget and 2,000 lines, as valid UTF-8, and counts the lines it leaves out exactly", () => {
    let elided = 0;
    for (let round = 0; round < 150; round += 1) {
      const budget = 1024 + below(64 * 1024 - 1024 + 1);
      const [stdout, stderr] = [stream(), stream()];
      const artifacts = Array.from({ length: pick([0, 1, 5, 3000]) }, (_, index) =>
        artifact(`${"d/".repeat(below(40))}${index}`, below(1e9)),
      );
      const result = jobResult({
        state: pick(["finished", "failed", "timed_out", "cancelled"] as const),
        exitCode: pick([0, 1, undefined]),
        message: "x".repeat(below(160)),
        artifacts,
        unlistedArtifacts: pick([0, 7]),
        skippedArtifacts: Array.from({ length: below(6) }, () => ({ path: "p/".repeat(below(50)), reason: "too large" })),
      });
      const excerpts = {
        stdout: excerptOf(stdout, stdout.length, countNewlines(stdout), budget),
        stderr: excerptOf(stderr, stderr.length, countNewlines(stderr), budget),
      };
      if (random() < 0.3) {
        // The worker kept a prefix, cut at any byte, of a stream it counted in all.
        const kept = below(stdout.length + 1);
        excerpts.stdout = excerptOf(stdout.subarray(0, kept), stdout.length, countNewlines(stdout), budget);
      } else if (random() < 0.5) {
        const digest = new OutputDigest(budget);
        const chunk = 1 + below(64 * 1024);
        for (let at = 0; at < stderr.length; at += chunk) digest.push(stderr.subarray(at, at + chunk));
        excerpts.stderr = digest.excerpt(countNewlines(stderr));
      }

      const rendered = renderResult(result, excerpts, budget);
      const context = `round ${round}: budget ${budget}, stdout ${stdout.length} bytes, stderr ${stderr.length} bytes`;
      expect({ context, bytes: Buffer.byteLength(rendered) <= budget }).toEqual({ context, bytes: true });
      expect({ context, replaced: rendered.includes("\uFFFD") }).toEqual({ context, replaced: false });
      expect({ context, lines: rendered.split("\n").length <= 2000 }).toEqual({ context, lines: true });
      expect(rendered).not.toContain("\x1b");
      elided += checkLineCounts(rendered);
    }
    // The cases must reach the cutting paths, not only whole or empty streams.
    expect(elided).toBeGreaterThan(50);
  });
});
