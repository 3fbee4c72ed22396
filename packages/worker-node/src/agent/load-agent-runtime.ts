import type { WorkerConfig } from "../config/worker-config.js";
import type { AgentRuntime } from "./agent-runtime.js";
import { findRelay } from "./model-relay.js";
import { findOpencode } from "./opencode-install.js";
import { loadProviders } from "./providers.js";

/** What every sandbox sees of the host: a key file under one of these would be readable from inside (providers.ts). */
const SANDBOX_SYSTEM_PATHS = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/**
 * The start-up's look at what agent tasks would run with. A providers file that is wrong fails the start (a
 * ConfigError naming what to fix), as any bad setting does; a worker without OpenCode or without providers
 * starts and refuses agent tasks with the reason.
 */
export async function loadAgentRuntime(config: Pick<WorkerConfig, "agent" | "session">): Promise<AgentRuntime> {
  const { enabled, opencodeDir, providersFile } = config.agent;
  if (!enabled) return { refusal: "this worker runs no agent tasks (agent.enabled is false)" };
  const providers =
    providersFile === "" ? undefined : loadProviders(providersFile, [...SANDBOX_SYSTEM_PATHS, opencodeDir, config.session.baseDir]);
  const install = await findOpencode(opencodeDir);
  if ("refusal" in install) return install;
  try {
    findRelay();
  } catch (error) {
    return { refusal: (error as Error).message };
  }
  if (!providers || providers.size === 0) {
    return { refusal: "this worker has no model providers for agents: name them in a file and set agent.providers_file (see the README)" };
  }
  return { install, providers };
}

/** One line for the start-up log and the probe's details. */
export function describeAgentRuntime(runtime: AgentRuntime): string {
  if ("refusal" in runtime) return `agent tasks: refused: ${runtime.refusal}`;
  return `agent tasks: opencode ${runtime.install.version} (${runtime.install.dir}), providers ${[...runtime.providers.keys()].join(", ")}`;
}
