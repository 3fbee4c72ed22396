import type { AppliedChanges, JobResult } from "@opencode-worker/master-client";
import { cutTail, readableText, wholeChars } from "./text-cut.js";

/**
 * opencode's own bash tool keeps the last 2,000 lines and 51,200 bytes of a command's output, and
 * opencode cuts any tool result past those sizes (keeping its start): the whole text stays within both.
 */
export const BASH_RESULT_LINES = 2000;
export const BASH_RESULT_BYTES = 51_200;
/** Bytes of changed and refused paths listed by name (paths may be long); the counts cover the rest. */
const LISTED_BYTES = 4096;

/** What the remote `bash` tool has to say: the command's combined output (its last bytes), its end, what changed here. */
export interface BashOutcome {
  /** The end of the output as it streamed, stdout and stderr interleaved; at least BASH_RESULT_BYTES of it when there was that much. */
  tail: Buffer;
  /** Bytes the command wrote in all. */
  totalBytes: number;
  result: JobResult;
  applied: AppliedChanges;
  /** The tool's `timeout` argument (ms), to name it when the command ran out of it. */
  timeoutMs: number;
}

/**
 * The tool's text, like opencode's own bash: the output (its end, when long, after a note on the cut),
 * then how the command ended when it did not exit 0, then the files the command changed here.
 */
export function renderBash(outcome: BashOutcome): string {
  const trailer = [...endLines(outcome), ...changeLines(outcome.applied)];
  // After a blank line, like the built-in's <shell_metadata>.
  const trailerText = trailer.length > 0 ? `\n\n${trailer.join("\n")}` : "";
  const cutNote = `...output truncated...\n\nthe first {bytes} bytes were left out; worker_collect_output with jobId ${outcome.result.jobId} reads what the worker kept\n\n`;
  const room = BASH_RESULT_BYTES - Buffer.byteLength(trailerText) - Buffer.byteLength(cutNote) - 20;
  const lines = BASH_RESULT_LINES - trailer.length - 5;
  const shown = wholeChars(cutTail(outcome.tail, room, lines));
  let output = outcome.totalBytes === 0 ? "(no output)" : readableText(shown);
  if (shown.length < outcome.totalBytes) output = cutNote.replace("{bytes}", String(outcome.totalBytes - shown.length)) + output;
  return (output.endsWith("\n") ? output.slice(0, -1) : output) + trailerText;
}

function endLines({ result, timeoutMs }: BashOutcome): string[] {
  // A command that exited non-zero "failed", in the worker's words; a model expects the bare exit code.
  if (result.reason === "exited") return result.exitCode === 0 ? [] : [`exit code ${result.exitCode ?? "unknown"}`];
  if (result.reason === "timeout") {
    return [
      `the command was stopped after exceeding its timeout of ${timeoutMs} ms. If it is expected to take longer and is ` +
        "not waiting for interactive input, retry with a larger timeout value in milliseconds.",
    ];
  }
  const how = result.exitCode !== undefined ? `exit code ${result.exitCode}` : result.signal ? `killed by ${result.signal}` : result.reason;
  return [`${result.state} (${result.reason}), ${how}: ${result.message}`];
}

function changeLines(applied: AppliedChanges): string[] {
  const counts = [
    [applied.added.length, "added"],
    [applied.modified.length, "modified"],
    [applied.deleted.length, "deleted"],
  ].filter(([count]) => count !== 0);
  const lines: string[] = [];
  if (counts.length > 0) lines.push(`files changed locally: ${counts.map(([count, word]) => `${count} ${word}`).join(", ")}`);
  const listed = [
    ...applied.added.map((path) => `  + ${path}`),
    ...applied.modified.map((path) => `  ~ ${path}`),
    ...applied.deleted.map((path) => `  - ${path}`),
  ];
  lines.push(...within(listed, LISTED_BYTES));
  if (applied.remoteOnly > 0) lines.push(`${applied.remoteOnly} changes kept on the worker only (remote-only paths)`);
  if (applied.refused.length > 0) {
    lines.push(`not applied locally (${applied.refused.length}):`);
    lines.push(
      ...within(
        applied.refused.map(({ path, reason }) => `  ${JSON.stringify(path)}: ${reason}`),
        LISTED_BYTES,
      ),
    );
  }
  if (applied.truncated) lines.push("the worker's list of changes was cut short: other files may differ from the worker's copy");
  return lines;
}

/** The first lines that fit in `bytes`, then one saying how many more there are. */
function within(lines: string[], bytes: number): string[] {
  let used = 0;
  const kept = lines.filter((line) => (used += Buffer.byteLength(line) + 1) <= bytes);
  return kept.length < lines.length ? [...kept, `  … and ${lines.length - kept.length} more`] : kept;
}
