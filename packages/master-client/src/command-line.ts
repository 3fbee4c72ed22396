import type { JobSpec as WireJobSpec } from "@opencode-worker/shared";

/** Long enough to recognise a command, short enough that the message stays one readable line. */
const MAX_CHARS = 200;

/** Characters a shell reads as themselves; an argv item with any other is shown quoted. */
const PLAIN_ARGUMENT = /^[\w@%+=:,./-]+$/;

/**
 * The job's command as its caller would type it, for error messages: the shell line as sent, argv
 * with items quoted where a shell would need it, or an agent task's model and prompt; cut at
 * MAX_CHARS or the first line break.
 */
export function commandLine(spec: Pick<WireJobSpec, "command" | "argv" | "agentTask">): string {
  const text = spec.agentTask
    ? `agent task (${spec.agentTask.model || "the worker's default model"}): ${spec.agentTask.prompt}`
    : spec.command || spec.argv.map((arg) => (PLAIN_ARGUMENT.test(arg) ? arg : JSON.stringify(arg))).join(" ");
  const [firstLine = ""] = text.split("\n", 1);
  return firstLine.length > MAX_CHARS || firstLine !== text ? `${firstLine.slice(0, MAX_CHARS)}…` : text;
}
