import type { JobLimits } from "@opencode-worker/shared";
import type { WorkerConfig } from "../config/worker-config.js";
import { invalidArgument } from "../errors.js";
import type { ResolvedLimits } from "../sandbox/driver.js";

type Governance = WorkerConfig["governance"];

/** Each limit: the proto field, where its default and maximum live, and whether 0 means "off". */
const LIMIT_RULES: ReadonlyArray<{
  field: keyof JobLimits & keyof ResolvedLimits;
  name: string;
  defaultKey: keyof Governance;
  maxKey: keyof Governance;
  maxName: string;
  integer: boolean;
  zeroDisables?: boolean;
}> = [
  { field: "cpu", name: "cpu", defaultKey: "defaultCpu", maxKey: "maxCpu", maxName: "governance.max_cpu", integer: false },
  {
    field: "memoryBytes",
    name: "memory_bytes",
    defaultKey: "defaultMemoryBytes",
    maxKey: "maxMemoryBytes",
    maxName: "governance.max_memory_bytes",
    integer: true,
  },
  {
    field: "timeoutMs",
    name: "timeout_ms",
    defaultKey: "defaultTimeoutMs",
    maxKey: "maxTimeoutMs",
    maxName: "governance.max_timeout_ms",
    integer: true,
  },
  {
    field: "maxOutputBytes",
    name: "max_output_bytes",
    defaultKey: "defaultMaxOutputBytes",
    maxKey: "maxOutputBytes",
    maxName: "governance.max_output_bytes",
    integer: true,
  },
  { field: "maxPids", name: "max_pids", defaultKey: "defaultMaxPids", maxKey: "maxPids", maxName: "governance.max_pids", integer: true },
  {
    field: "maxDiskBytes",
    name: "max_disk_bytes",
    defaultKey: "defaultMaxDiskBytes",
    maxKey: "maxDiskBytes",
    maxName: "governance.max_disk_bytes",
    integer: true,
  },
  {
    field: "modelMaxRequests",
    name: "model_max_requests",
    defaultKey: "defaultModelRequests",
    maxKey: "maxModelRequests",
    maxName: "governance.max_model_requests",
    integer: true,
  },
  {
    field: "modelMaxTokens",
    name: "model_max_tokens",
    defaultKey: "defaultModelTokens",
    maxKey: "maxModelTokens",
    maxName: "governance.max_model_tokens",
    integer: true,
  },
  {
    field: "idleTimeoutMs",
    name: "idle_timeout_ms",
    defaultKey: "defaultIdleTimeoutMs",
    maxKey: "maxIdleTimeoutMs",
    maxName: "governance.max_idle_timeout_ms",
    integer: true,
    zeroDisables: true,
  },
];

/** The limits only an agent task has: a command's job may not set them (they would limit nothing). */
const MODEL_LIMITS: ReadonlySet<string> = new Set(["modelMaxRequests", "modelMaxTokens"]);

/**
 * Unset limits take the worker's default (an agent task's memory its own: OpenCode needs more than a command);
 * set ones must be positive and within the worker's maximum.
 */
export function resolveLimits(requested: JobLimits | undefined, governance: Governance, agentTask: boolean): ResolvedLimits {
  const resolved = {} as ResolvedLimits;
  for (const rule of LIMIT_RULES) {
    const sent = requested?.[rule.field];
    const max = governance[rule.maxKey] as number;
    const field = `limits.${rule.name}`;
    if (sent !== undefined && !agentTask && MODEL_LIMITS.has(rule.field)) {
      throw invalidArgument(field, `limits a model's use, so only an agent task (agent_task) may set it, got ${sent}`);
    }
    if (sent === undefined) {
      const defaultKey = agentTask && rule.field === "memoryBytes" ? "defaultAgentMemoryBytes" : rule.defaultKey;
      resolved[rule.field] = governance[defaultKey] as number;
      continue;
    }
    // 64-bit limits arrive as exact decimal strings (jstype JS_STRING). Number() rounds only past
    // 2^53, far above any maximum (a safe integer), so the comparison is exact; the message quotes
    // the value as sent, and checking the maximum first names it for what it is, not a non-integer.
    const value = Number(sent);
    if (value > max) {
      throw invalidArgument(field, `${sent} exceeds the worker's maximum ${max} (${rule.maxName}); ask for less or raise ${rule.maxName}`);
    }
    if (!Number.isFinite(value) || (rule.integer && !Number.isSafeInteger(value))) {
      throw invalidArgument(field, `expected ${rule.integer ? "an integer" : "a number"}, got ${sent}`);
    }
    if (value < 0 || (value === 0 && !rule.zeroDisables)) {
      throw invalidArgument(field, `expected a value > 0${rule.zeroDisables ? " (or 0 to disable)" : ""}, got ${sent}`);
    }
    resolved[rule.field] = value;
  }
  return resolved;
}
