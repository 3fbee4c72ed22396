import { existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** This package's directory: what opencode's config names as the plugin (its main is the built dist/index.js). */
export const PLUGIN_DIR = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The real opencode binary of the pinned `opencode-ai` devDependency. Its own bin is a placeholder that a
 * postinstall replaces (pnpm skips it), so take the ELF from the platform package beside it, resolved
 * from opencode-ai's real path in pnpm's store. Set-up always installs it, so its absence is a broken
 * set-up and fails the test rather than skipping it.
 */
export function requireOpencodeBinary(): string {
  let binary: string | undefined;
  try {
    const opencodeAi = realpathSync(join(PLUGIN_DIR, "node_modules/opencode-ai/package.json"));
    const platformPackage = `opencode-${process.platform}-${process.arch}/package.json`;
    binary = join(dirname(createRequire(opencodeAi).resolve(platformPackage)), "bin/opencode");
  } catch {
    // Reported below with what to do.
  }
  if (!binary || !existsSync(binary)) {
    throw new Error("the opencode binary of the opencode-ai devDependency is not installed: run `bash scripts/setup.sh`");
  }
  return binary;
}
