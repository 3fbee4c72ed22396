import type { AgentTask, SessionConfig } from "@opencode-worker/shared";
import { WorkerError, invalidArgument } from "../errors.js";
import type { AgentRuntime } from "./agent-runtime.js";
import type { OpencodeInstall } from "./opencode-install.js";
import type { ProviderSettings } from "./providers.js";

const MAX_PROMPT_BYTES = 256 * 1024;
const MAX_INSTRUCTIONS_BYTES = 64 * 1024;
/** OpenCode's primary agents: a subagent or an unknown name would make `opencode run` fall back silently. */
const AGENTS = ["build", "plan"] as const;

/** JobSpec.agent_task after validation: the provider it may reach and everything the session is written from. */
export interface ValidatedAgentTask {
  /** The OpenCode that runs it. */
  readonly install: OpencodeInstall;
  readonly prompt: string;
  readonly provider: ProviderSettings;
  readonly modelId: string;
  readonly agent: (typeof AGENTS)[number];
  /** Empty: none. */
  readonly instructions: string;
}

/**
 * Checks an agent task against what this worker runs: a worker without OpenCode or providers refuses it
 * (FAILED_PRECONDITION with the fix), an unknown provider or model is INVALID_ARGUMENT naming the field and
 * what the worker offers. The model comes from the task, else from SessionConfig.provider and model.
 */
export function validateAgentTask(
  task: AgentTask,
  sessionConfig: Pick<SessionConfig, "mode" | "provider" | "model">,
  runtime: AgentRuntime,
): ValidatedAgentTask {
  if ("refusal" in runtime) throw new WorkerError("FAILED_PRECONDITION", `agent_task: ${runtime.refusal}`, { field: "agent_task" });
  if (task.prompt.trim() === "") throw invalidArgument("agent_task.prompt", "is empty; say what the agent should do");
  checkSize("agent_task.prompt", task.prompt, MAX_PROMPT_BYTES);
  checkSize("agent_task.instructions", task.instructions, MAX_INSTRUCTIONS_BYTES);
  const { provider, modelId, field } = resolveModel(task, sessionConfig, runtime.providers);
  if (!provider.models.has(modelId)) {
    throw invalidArgument(field, `${provider.id} has no model ${quote(modelId)} on this worker; it offers ${list(provider.models.keys())}`);
  }
  const agent = task.agent || sessionConfig.mode || "build";
  if (!isAgent(agent))
    throw invalidArgument(task.agent ? "agent_task.agent" : "config.mode", `expected one of ${list(AGENTS)}, got ${quote(agent)}`);
  return { install: runtime.install, prompt: task.prompt, provider, modelId, agent, instructions: task.instructions };
}

function resolveModel(
  task: AgentTask,
  sessionConfig: Pick<SessionConfig, "provider" | "model">,
  providers: ReadonlyMap<string, ProviderSettings>,
): { provider: ProviderSettings; modelId: string; field: string } {
  const offered = `this worker's providers (agent.providers_file) are ${providers.size === 0 ? "none" : list(providers.keys())}`;
  let providerId: string;
  let modelId: string;
  let field: string;
  if (task.model !== "") {
    field = "agent_task.model";
    const slash = task.model.indexOf("/");
    if (slash <= 0 || slash === task.model.length - 1) throw invalidArgument(field, `expected "provider/model", got ${quote(task.model)}`);
    providerId = task.model.slice(0, slash);
    modelId = task.model.slice(slash + 1);
  } else if (sessionConfig.provider !== "" && sessionConfig.model !== "") {
    field = "config.model";
    providerId = sessionConfig.provider;
    modelId = sessionConfig.model;
  } else {
    throw invalidArgument(
      "agent_task.model",
      `is empty and so are config.provider and config.model; name one as "provider/model": ${offered}`,
    );
  }
  const provider = providers.get(providerId);
  if (!provider) throw invalidArgument(field, `unknown provider ${quote(providerId)}: ${offered}`);
  return { provider, modelId, field };
}

function isAgent(name: string): name is ValidatedAgentTask["agent"] {
  return (AGENTS as readonly string[]).includes(name);
}

function checkSize(field: string, text: string, max: number): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > max) throw invalidArgument(field, `is ${bytes} bytes, more than ${max}`);
}

function list(names: Iterable<string>): string {
  return [...names].map(quote).join(", ");
}

function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
}
