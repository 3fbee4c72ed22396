import { describe, expect, it } from "@jest/globals";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The workspace's package dirs (packages/* and bench), each with a package.json. */
function workspacePackages(): string[] {
  const dirs = readdirSync(`${ROOT}packages`).map((name) => `packages/${name}`);
  return [...dirs, "bench"].filter((dir) => existsSync(`${ROOT}${dir}/package.json`));
}

// `pnpm install --frozen-lockfile` in the image fails when a workspace package the lockfile names is missing,
// and the image then never builds: every package.json must be copied before the install.
describe("the Dockerfile", () => {
  const dockerfile = readFileSync(`${ROOT}Dockerfile`, "utf8");

  it.each(workspacePackages())("copies %s/package.json before installing", (dir) => {
    const copy = dockerfile.indexOf(`COPY ${dir}/package.json ${dir}/`);
    expect(copy).toBeGreaterThan(-1);
    expect(copy).toBeLessThan(dockerfile.indexOf("pnpm install --frozen-lockfile"));
  });

  it("installs the OpenCode that scripts/setup.sh pins where agent.opencode_dir expects it, with ripgrep", () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf("FROM "));
    const pinned = /^opencode_version=(\S+)$/m.exec(readFileSync(`${ROOT}scripts/setup.sh`, "utf8"))?.[1];
    expect(pinned).toBeDefined();
    expect(runtime).toContain(`npm install --prefix /opt/opencode/base --no-audit --no-fund --loglevel=error opencode-ai@${pinned}`);
    expect(runtime).toMatch(/apt-get install[^\n]*\bripgrep\b/);
  });

  it("installs what network OPEN jobs need at run time", () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf("FROM "));
    expect(runtime).toMatch(/apt-get install[^\n]*\bslirp4netns\b[^\n]*\biproute2\b/);
  });
});
