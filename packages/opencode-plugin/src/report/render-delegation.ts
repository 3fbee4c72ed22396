import {
  type AppliedChanges,
  formatBytes,
  type JobAgentStepEvent,
  type JobModelCallEvent,
  type JobResult,
  type WorkspaceChange,
} from "@opencode-worker/master-client";
import { cutHead, looksBinary, readableText, wholeChars } from "./text-cut.js";

/** What worker_delegate_task has to say: the job's result and what of its changes reached the project. */
export interface DelegationOutcome {
  result: JobResult;
  /** What was applied to the project; undefined when the call asked for no apply. */
  applied: AppliedChanges | undefined;
}

/** Of the room after the outcome, the agent's final text may use this share; the change list a quarter. */
const FINAL_TEXT_SHARE = 1 / 2;
const CHANGE_LIST_SHARE = 1 / 4;
/** Most changes listed by name, however short the paths (opencode cuts a tool result past 2,000 lines). */
const MAX_LISTED_CHANGES = 200;
/** One changed file's content is shown up to this much; a larger file shows its start. */
const FILE_BYTES = 2048;
const FILE_LINES = 60;
/** A progress line is one short line in opencode's UI. */
const PROGRESS_LINE_CHARS = 200;

/**
 * A delegated task's result as a model reads it, in at most `budget` bytes: how it ended, the model's
 * use, the agent's final text, the changes (applied or not) and then the contents of changed text
 * files, each cut to what is left.
 */
export function renderDelegation({ result, applied }: DelegationOutcome, budget: number): string {
  const head = [outcomeLine(result), ...(succeeded(result) ? [] : [result.message]), ...agentLines(result)].join("\n");
  let room = budget - Buffer.byteLength(head) - 1;
  const finalText = finalTextSection(result, Math.floor(room * FINAL_TEXT_SHARE));
  room -= Buffer.byteLength(finalText) + 2;
  const changes = changeSection(result, applied, Math.floor(room * CHANGE_LIST_SHARE));
  room -= Buffer.byteLength(changes) + 2;
  const contents = contentSection(result.workspaceChanges?.changes ?? [], room - 2);
  return [head, finalText, changes, ...(contents === "" ? [] : [contents])].join("\n\n");
}

const succeeded = (result: JobResult): boolean => result.state === "finished" && result.exitCode === 0;

function outcomeLine(result: JobResult): string {
  const exit = result.exitCode !== undefined && result.exitCode !== 0 ? `, exit code ${result.exitCode}` : "";
  const how = succeeded(result) ? "finished" : `${result.state} (${result.reason}${exit})`;
  return `delegated task, job ${result.jobId}: ${how} · ${(result.durationMs / 1000).toFixed(2)} s`;
}

function agentLines({ agent }: JobResult): string[] {
  if (agent === undefined) return ["the worker reported no agent outcome: the agent may not have started"];
  const { requests, refusedRequests, inputTokens, outputTokens } = agent.usage;
  const refused = refusedRequests > 0 ? ` (${refusedRequests} more refused)` : "";
  const failed = agent.failedToolCalls > 0 ? ` (${agent.failedToolCalls} failed)` : "";
  return [
    `model use: ${requests} requests${refused}, ${inputTokens} tokens in, ${outputTokens} tokens out`,
    `agent: ${agent.steps} steps, ${agent.toolCalls} tool calls${failed}${agent.opencodeVersion ? ` · opencode ${agent.opencodeVersion}` : ""}`,
  ];
}

function finalTextSection({ agent }: JobResult, budget: number): string {
  const text = agent?.finalText ?? "";
  if (text.trim() === "") return "final text: (none)";
  return `final text:\n${cutText(Buffer.from(text), budget - 40, Infinity)}`;
}

/** The head of `data` within the limits, with a note of what was left out. */
function cutText(data: Buffer, bytes: number, lines: number): string {
  const shown = wholeChars(cutHead(data, Math.max(0, bytes), lines));
  const text = readableText(shown).replace(/\n$/, "");
  return shown.length < data.length ? `${text}\n… (${data.length - shown.length} more bytes)` : text;
}

function changeSection(result: JobResult, applied: AppliedChanges | undefined, budget: number): string {
  const changes = result.workspaceChanges?.changes ?? [];
  if (changes.length === 0) return "changes: none";
  const where = applied === undefined ? "not applied to the project (apply: false)" : "applied to the project";
  const lines = [`changes (${changes.length}, ${where}):`];
  let used = Buffer.byteLength(lines[0]!);
  let shown = 0;
  for (const change of changes) {
    const line = `  ${changeLine(change)}`;
    used += Buffer.byteLength(line) + 1;
    if (used > budget - 40 || shown === MAX_LISTED_CHANGES) break;
    lines.push(line);
    shown += 1;
  }
  if (shown < changes.length) lines.push(`  … and ${changes.length - shown} more`);
  for (const { path, reason } of applied?.refused.slice(0, 3) ?? []) lines.push(`not applied: ${path} (${reason})`);
  const moreRefused = (applied?.refused.length ?? 0) - 3;
  if (moreRefused > 0) lines.push(`not applied: … and ${moreRefused} more`);
  if (result.workspaceChanges?.truncated) lines.push(`the list is incomplete: ${result.workspaceChanges.truncatedReason}`);
  return lines.join("\n");
}

function changeLine(change: WorkspaceChange): string {
  const what =
    change.kind === "deleted"
      ? ""
      : change.type === "symlink"
        ? ` -> ${change.symlinkTarget ?? ""}`
        : change.type === "file"
          ? ` (${formatBytes(change.size ?? 0)})`
          : ` (${change.type})`;
  return `${change.kind} ${change.path}${what}${change.remoteOnly ? " [kept on the worker]" : ""}`;
}

/** The contents of the project's added and modified text files the worker sent inline, while they fit in `budget`. */
function contentSection(changes: readonly WorkspaceChange[], budget: number): string {
  const readable = changes.filter(
    (change) =>
      change.kind !== "deleted" &&
      change.type === "file" &&
      !change.remoteOnly &&
      change.content !== undefined &&
      !looksBinary(change.content.subarray(0, 4096)),
  );
  const blocks: string[] = [];
  let used = 0;
  for (const change of readable) {
    const block = `--- ${change.path}\n${cutText(change.content!, FILE_BYTES, FILE_LINES)}`;
    if (used + Buffer.byteLength(block) + 2 > budget - 80) break;
    blocks.push(block);
    used += Buffer.byteLength(block) + 2;
  }
  if (blocks.length < readable.length) blocks.push(`(the contents of ${readable.length - blocks.length} more changed files are left out)`);
  return blocks.join("\n\n");
}

/** One line of live progress for a step or a model call, or undefined for those not worth a line. */
export function progressLine(event: JobAgentStepEvent | JobModelCallEvent): string | undefined {
  const line = (text: string): string => {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length > PROGRESS_LINE_CHARS ? `${flat.slice(0, PROGRESS_LINE_CHARS - 1)}…` : flat;
  };
  if (event.type === "model_call") {
    if (event.refused !== undefined) return line(`model request ${event.number} refused: ${event.refused}`);
    return line(
      `model request ${event.number}: HTTP ${event.httpStatus}, ${event.inputTokens} in / ${event.outputTokens} out, ${event.latencyMs} ms`,
    );
  }
  switch (event.kind) {
    case "tool":
      return line(`${event.tool ?? "tool"} ${event.status ?? ""}${event.text ? `: ${event.text}` : ""}`);
    case "text":
      return line(`says: ${event.text}`);
    case "error":
      return line(`error: ${event.text}`);
    default:
      return undefined;
  }
}
