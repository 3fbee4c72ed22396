import { afterAll, describe, expect, it } from "@jest/globals";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentEnv, prepareAgentHome } from "./agent-home.js";

const root = mkdtempSync(join(tmpdir(), "agent-home-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DIRS = [".config/opencode/node_modules", ".local/share/opencode", ".local/state/opencode", ".cache/opencode"];

describe("prepareAgentHome", () => {
  it("creates opencode's dirs and the stub that stops its plugin install", async () => {
    const home = join(root, "fresh");
    await prepareAgentHome(home);
    for (const dir of DIRS) expect(lstatSync(join(home, dir)).isDirectory()).toBe(true);
    const config = join(home, ".config/opencode");
    const manifest = JSON.parse(readFileSync(join(config, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(join(config, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dependencies: Record<string, string> }>;
    };
    // What opencode checks: every dependency of package.json is listed in the lock's root package.
    expect(Object.keys(manifest.dependencies)).toEqual(["@opencode-ai/plugin"]);
    expect(lock.packages[""]?.dependencies).toEqual(manifest.dependencies);
  });

  it("works in an existing empty home", async () => {
    const home = join(root, "existing");
    mkdirSync(home);
    await prepareAgentHome(home);
    expect(lstatSync(join(home, DIRS[0] ?? "")).isDirectory()).toBe(true);
  });

  it("never follows a link that is already there", async () => {
    const home = join(root, "planted");
    const elsewhere = join(root, "elsewhere");
    mkdirSync(join(home, ".config"), { recursive: true });
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(home, ".cache"));
    await expect(prepareAgentHome(home)).rejects.toMatchObject({ code: "EEXIST" });
    symlinkSync(elsewhere, join(root, "home-link"));
    await expect(prepareAgentHome(join(root, "home-link"))).rejects.toMatchObject({ code: "EEXIST" });
  });
});

describe("agentEnv", () => {
  it("keeps all state under HOME and turns off every download", () => {
    expect(agentEnv({ homeDir: "/s/home", tmpDir: "/s/tmp", configPath: "/s/opencode.json" })).toEqual({
      HOME: "/s/home",
      XDG_CONFIG_HOME: "/s/home/.config",
      XDG_DATA_HOME: "/s/home/.local/share",
      XDG_STATE_HOME: "/s/home/.local/state",
      XDG_CACHE_HOME: "/s/home/.cache",
      TMPDIR: "/s/tmp",
      PATH: "/usr/local/bin:/usr/bin:/bin",
      OPENCODE_CONFIG: "/s/opencode.json",
      OPENCODE_DISABLE_AUTOUPDATE: "1",
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_SHARE: "1",
      OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
      OPENCODE_DISABLE_FFF: "1",
      OPENCODE_DISABLE_PROJECT_CONFIG: "1",
    });
  });
});
