import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { sessionPaths } from "../sandbox/driver.js";
import { prepareAgentHome } from "./agent-home.js";
import { gatewaySocketPath, RELAY_BASE_URL } from "./agent-command.js";
import { opencodeConfig } from "./opencode-config.js";
import type { ValidatedAgentTask } from "./validate-agent-task.js";

/** Where PREPARE writes the agent's config, beside work/ as a command's opencode.json is: the job may read it, not change it. */
export function agentConfigPath(sessionDir: string): string {
  return join(sessionDir, "opencode.json");
}

/**
 * PREPARE's part for an agent task: HOME and its config dirs made so OpenCode starts offline without installing
 * anything, the session's OpenCode config (its provider reached through the relay, no key), the extra
 * instructions, and the root-only directory the gateway's socket will live in.
 */
export async function prepareAgentSession(
  task: ValidatedAgentTask,
  sessionDir: string,
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  const { homeDir } = sessionPaths(sessionDir);
  await prepareAgentHome(homeDir, owner);
  const instructionsPath = task.instructions === "" ? undefined : join(sessionDir, "instructions.md");
  // "wx": O_CREAT|O_EXCL, never through anything already there.
  if (instructionsPath) writeFileSync(instructionsPath, task.instructions, { mode: 0o644, flag: "wx" });
  const config = opencodeConfig({
    provider: task.provider,
    modelId: task.modelId,
    baseUrl: RELAY_BASE_URL,
    ...(instructionsPath && { instructionsPath }),
  });
  writeFileSync(agentConfigPath(sessionDir), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644, flag: "wx" });
  mkdirSync(dirname(gatewaySocketPath(sessionDir)), { mode: 0o700 });
}
