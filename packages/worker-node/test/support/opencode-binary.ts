import { existsSync } from "node:fs";
import { opencodeBinaries } from "../../src/agent/opencode-install.js";

/** Where scripts/setup.sh installs the OpenCode agent tasks run (agent.opencode_dir's default). */
export const PROVISIONED_OPENCODE_DIR = "/opt/opencode/base";

/**
 * The real pinned opencode binary, as set-up provisions it for agent tasks. Set-up always installs it (as root, as CI
 * runs), so its absence fails the test rather than skipping it.
 */
export function requireOpencodeBinary(): string {
  const binary = opencodeBinaries(PROVISIONED_OPENCODE_DIR).find((path) => existsSync(path));
  if (binary === undefined) throw new Error(`no opencode binary in ${PROVISIONED_OPENCODE_DIR}: run \`bash scripts/setup.sh\` as root`);
  return binary;
}
