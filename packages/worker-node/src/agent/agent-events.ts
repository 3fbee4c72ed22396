import { AgentStepKind, type AgentOutcome, type AgentStep } from "@opencode-worker/shared";

/**
 * Reads what `opencode run --format json` writes on stdout, one JSON object a line (step_start, tool_use,
 * text, step_finish, error), into AgentStep events and the run's outcome. Other lines (not JSON, or a type
 * this does not know) are skipped: the agent's stdout is the job's, and nothing in it may break the reader.
 */

/** The longest line kept; the rest of a longer one is skipped (a tool's whole output can sit in one line). */
export const MAX_LINE_BYTES = 1024 ** 2;
/** AgentStep.text's cap, from the contract. */
export const MAX_STEP_TEXT_BYTES = 4096;

export type AgentCounts = Omit<AgentOutcome, "usage" | "opencodeVersion">;

const NEWLINE = 0x0a;

export class AgentEventReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while the rest of an over-long line is dropped, up to its newline. */
  private skipping = false;
  private readonly counts: AgentCounts = { finalText: "", steps: 0, toolCalls: 0, failedToolCalls: 0 };

  constructor(private readonly onStep: (step: AgentStep) => void) {}

  /** Takes the next piece of stdout; a line may be split anywhere, also inside a UTF-8 character. */
  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      this.append(chunk.subarray(start, end));
      if (newline === -1) return;
      this.endLine();
      start = newline + 1;
    }
  }

  /** Reads a last line that had no newline: call once stdout has ended. */
  end(): void {
    this.endLine();
  }

  /** What the run did so far: its last text, and its steps and tool calls. */
  outcome(): AgentCounts {
    return { ...this.counts };
  }

  private append(piece: Buffer): void {
    if (this.skipping || piece.length === 0) return;
    if (this.pendingBytes + piece.length > MAX_LINE_BYTES) {
      this.pending = [];
      this.pendingBytes = 0;
      this.skipping = true;
      return;
    }
    this.pending.push(piece);
    this.pendingBytes += piece.length;
  }

  private endLine(): void {
    const line = Buffer.concat(this.pending, this.pendingBytes).toString("utf8");
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
    if (line.trim() === "") return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof event !== "object" || event === null) return;
    const step = this.read(event as OpencodeEvent);
    if (step !== undefined) this.onStep(step);
  }

  private read(event: OpencodeEvent): AgentStep | undefined {
    const part = event.part ?? {};
    switch (event.type) {
      case "step_start":
        this.counts.steps += 1;
        return step(AgentStepKind.AGENT_STEP_KIND_STEP_STARTED);
      case "step_finish":
        return step(AgentStepKind.AGENT_STEP_KIND_STEP_FINISHED);
      case "text": {
        const text = String(part.text ?? "");
        this.counts.finalText = text;
        return step(AgentStepKind.AGENT_STEP_KIND_TEXT, { text });
      }
      case "tool_use": {
        const state = part.state ?? {};
        const status = String(state.status ?? "");
        this.counts.toolCalls += 1;
        if (status === "error") this.counts.failedToolCalls += 1;
        const text = String((status === "error" ? state.error : state.title) ?? "");
        return step(AgentStepKind.AGENT_STEP_KIND_TOOL, { tool: String(part.tool ?? ""), status, text });
      }
      case "error": {
        const error = event.error ?? {};
        return step(AgentStepKind.AGENT_STEP_KIND_ERROR, { text: String(error.data?.message ?? error.name ?? "") });
      }
      default:
        return undefined;
    }
  }
}

/** The fields read of opencode's event lines; any of them may be missing from a line this did not expect. */
interface OpencodeEvent {
  type?: string;
  part?: { text?: unknown; tool?: unknown; state?: { status?: unknown; title?: unknown; error?: unknown } };
  error?: { name?: unknown; data?: { message?: unknown } };
}

function step(kind: AgentStepKind, fields: Partial<AgentStep> = {}): AgentStep {
  return { kind, tool: "", status: "", ...fields, text: capUtf8(fields.text ?? "", MAX_STEP_TEXT_BYTES) };
}

/** `text` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function capUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Back off continuation bytes (10xxxxxx) to the first byte of the character the cut falls in.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString("utf8");
}
