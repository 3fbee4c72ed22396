import { existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { opencodeBinaries } from "../../src/agent/opencode-install.js";

/** Where scripts/setup.sh installs the OpenCode agent tasks run (agent.opencode_dir's default). */
const PROVISIONED_DIR = "/opt/opencode/base";
/** The plugin's devDependency on opencode-ai: the same pinned version, present after `pnpm install`. */
const PLUGIN_DIR = fileURLToPath(new URL("../../../opencode-plugin", import.meta.url));

/**
 * The real pinned opencode binary: the provisioned one, else the plugin's devDependency (its own bin is a
 * placeholder a postinstall replaces, so the ELF comes from the platform package). Set-up always installs
 * one of them, so its absence fails the test rather than skipping it.
 */
export function requireOpencodeBinary(): string {
  const provisioned = opencodeBinaries(PROVISIONED_DIR).find((binary) => existsSync(binary));
  if (provisioned !== undefined) return provisioned;
  try {
    const opencodeAi = realpathSync(join(PLUGIN_DIR, "node_modules/opencode-ai/package.json"));
    const binary = join(dirname(createRequire(opencodeAi).resolve(`opencode-linux-${process.arch}/package.json`)), "bin/opencode");
    if (existsSync(binary)) return binary;
  } catch {
    // Reported below with what to do.
  }
  throw new Error("no opencode binary in /opt/opencode/base nor the plugin's devDependency: run `bash scripts/setup.sh`");
}
