import { formatBytes, type JobResult } from "@opencode-worker/master-client";
import type { OutputExcerpt } from "./excerpt.js";
import { renderOutput } from "./render-output.js";

/** What the streams of a result show: their excerpts, read by whoever had the output. */
export interface ResultExcerpts {
  stdout: OutputExcerpt;
  stderr: OutputExcerpt;
}

/** Of the room left for output, stdout's share when both streams have some. */
const STDOUT_SHARE = 2 / 3;
/** The artifact list may use at most this share of the budget. */
const ARTIFACT_SHARE = 1 / 4;
/**
 * Most artifacts listed by name: with both streams' 800 lines, a result stays under the 2,000 lines
 * after which opencode cuts a tool result, however short the paths.
 */
const MAX_LISTED_ARTIFACTS = 200;

/**
 * A job's result as a model reads it, in at most `budget` bytes: the outcome and the worker's
 * one-line explanation first, then stdout and stderr as head and tail, then the artifacts.
 */
export function renderResult(result: JobResult, excerpts: ResultExcerpts, budget: number): string {
  const header = [outcomeLine(result)];
  if (result.state !== "finished" || result.exitCode !== 0) header.push(result.message);
  if (result.unenforcedLimits.length > 0) header.push(`not enforced on this worker: ${result.unenforcedLimits.join("; ")}`);
  const artifacts = artifactLines(result, Math.floor(budget * ARTIFACT_SHARE));
  const fixed = [...header, ...artifacts].join("\n");

  const room = budget - Buffer.byteLength(fixed) - 2;
  const both = excerpts.stdout.totalBytes > 0 && excerpts.stderr.totalBytes > 0;
  // stderr first with its share, then stdout takes whatever stderr did not use.
  const stderr = renderOutput("stderr", excerpts.stderr, both ? Math.floor(room * (1 - STDOUT_SHARE)) : room);
  const stdout = renderOutput("stdout", excerpts.stdout, room - Buffer.byteLength(stderr) - 1);
  return [...header, stdout, stderr, ...artifacts].join("\n");
}

function outcomeLine(result: JobResult): string {
  const how = result.exitCode !== undefined ? `exit code ${result.exitCode}` : result.signal ? `killed by ${result.signal}` : result.reason;
  const state = result.state === "finished" ? "finished" : `${result.state} (${result.reason})`;
  const usage = [`${(result.durationMs / 1000).toFixed(2)} s`];
  if (result.memoryPeakBytes > 0) usage.push(`peak memory ${formatBytes(result.memoryPeakBytes)}`);
  if (result.cpuTimeMs > 0) usage.push(`cpu ${result.cpuTimeMs} ms`);
  return `job ${result.jobId}: ${state}, ${how} · ${usage.join(" · ")}`;
}

function artifactLines(result: JobResult, budget: number): string[] {
  const listed = result.artifacts.length + result.unlistedArtifacts;
  if (listed === 0 && result.skippedArtifacts.length === 0) return [];
  const lines: string[] = [];
  if (listed > 0) {
    const total = result.artifacts.reduce((sum, artifact) => sum + artifact.sizeBytes, 0);
    lines.push(`artifacts (${listed}${result.unlistedArtifacts > 0 ? "" : `, ${formatBytes(total)}`}):`);
    let used = Buffer.byteLength(lines[0]!);
    let shown = 0;
    for (const artifact of result.artifacts) {
      const line = `  ${artifact.path} (${formatBytes(artifact.sizeBytes)})`;
      used += Buffer.byteLength(line) + 1;
      if (used > budget - 40 || shown === MAX_LISTED_ARTIFACTS) break;
      lines.push(line);
      shown += 1;
    }
    if (shown < listed) lines.push(`  … and ${listed - shown} more`);
  }
  for (const skipped of result.skippedArtifacts.slice(0, 3)) lines.push(`not collected: ${skipped.path} (${skipped.reason})`);
  const moreSkipped = result.skippedArtifacts.length + result.unlistedSkippedArtifacts - 3;
  if (moreSkipped > 0) lines.push(`not collected: … and ${moreSkipped} more`);
  return lines;
}
