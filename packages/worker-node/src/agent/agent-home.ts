import { lchown, lstat, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * A delegated agent's HOME inside the session, and the environment that keeps OpenCode offline: all its
 * state under that HOME, and nothing it would download (updates, model catalogue, LSP servers, its plugin
 * package) ever attempted, so a run in a sandbox without network neither stalls nor fails.
 */

/** The dirs OpenCode writes (config, data, state, cache), relative to HOME; XDG_* point at their parents. */
const XDG = { config: ".config", data: ".local/share", state: ".local/state", cache: ".cache" } as const;
const CONFIG_DIR = join(XDG.config, "opencode");

/**
 * OpenCode installs @opencode-ai/plugin into every config dir at start-up (about 70 s of retries offline)
 * unless the dir has a node_modules/ and a package-lock.json listing each dependency of its package.json.
 * Versions are not compared, and no plugin of ours loads from here, so an empty node_modules/ is enough.
 */
const PLUGIN_DEPENDENCIES = { "@opencode-ai/plugin": "1.18.33" };
const STUB_FILES: Record<string, object> = {
  "package.json": { dependencies: PLUGIN_DEPENDENCIES },
  "package-lock.json": { lockfileVersion: 3, requires: true, packages: { "": { dependencies: PLUGIN_DEPENDENCIES } } },
};

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Creates OpenCode's dirs under `homeDir` (made when missing), owned by `owner` (the job's uid) when given.
 * Every dir and file is created new (mkdir, O_EXCL): one that exists already, or a link, is an error rather
 * than something followed.
 */
export async function prepareAgentHome(homeDir: string, owner?: Owner): Promise<void> {
  await mkdir(homeDir, { mode: 0o700 }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST" || !(await lstat(homeDir)).isDirectory()) throw error;
  });
  const created = [homeDir];
  const make = async (relative: string): Promise<void> => {
    const path = join(homeDir, relative);
    await mkdir(path, { mode: 0o700 });
    created.push(path);
  };
  for (const dir of [XDG.config, ".local", XDG.data, XDG.state, XDG.cache]) await make(dir);
  for (const base of [XDG.config, XDG.data, XDG.state, XDG.cache]) await make(join(base, "opencode"));
  await make(join(CONFIG_DIR, "node_modules"));
  for (const [name, content] of Object.entries(STUB_FILES)) {
    const path = join(homeDir, CONFIG_DIR, name);
    await writeFile(path, `${JSON.stringify(content, null, 2)}\n`, { flag: "wx", mode: 0o600 });
    created.push(path);
  }
  if (owner !== undefined) for (const path of created) await lchown(path, owner.uid, owner.gid);
}

export interface AgentPaths {
  /** The agent's HOME, prepared by prepareAgentHome, as the agent sees it. */
  homeDir: string;
  /** A writable temp dir (opencode exits at once without one). */
  tmpDir: string;
  /** The config file opencodeConfig wrote. */
  configPath: string;
}

/** The agent's whole environment: the process starts from nothing else, so no worker variable leaks in. */
export function agentEnv(paths: AgentPaths): Record<string, string> {
  const home = paths.homeDir;
  return {
    HOME: home,
    XDG_CONFIG_HOME: join(home, XDG.config),
    XDG_DATA_HOME: join(home, XDG.data),
    XDG_STATE_HOME: join(home, XDG.state),
    XDG_CACHE_HOME: join(home, XDG.cache),
    TMPDIR: paths.tmpDir,
    PATH: "/usr/local/bin:/usr/bin:/bin",
    OPENCODE_CONFIG: paths.configPath,
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_SHARE: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    // Else every run unpacks a 5.5 MB native library into TMPDIR.
    OPENCODE_DISABLE_FFF: "1",
    // A workspace's own opencode.json or .opencode/ would override our config (its provider, plugins, MCP
    // servers) and its .opencode/ would start the offline plugin install that stalls the run.
    OPENCODE_DISABLE_PROJECT_CONFIG: "1",
  };
}
