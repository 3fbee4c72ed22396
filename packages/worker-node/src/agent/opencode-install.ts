import { execFile } from "node:child_process";
import { access, constants, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** The OpenCode that agent tasks run: the npm package opencode-ai installed into `dir` (scripts/setup.sh). */
export interface OpencodeInstall {
  readonly dir: string;
  /** The platform's ELF under dir, bound read-only into the sandbox at the same path. */
  readonly binary: string;
  /** What `binary --version` printed, e.g. "1.18.33". */
  readonly version: string;
}

const FIX = "install it: bash scripts/setup.sh, or set agent.opencode_dir";
/** How long `--version` may take: it answers in a few seconds (a cold start of a 185 MB binary). */
const VERSION_TIMEOUT_MS = 10_000;

/**
 * Where opencode-ai puts the binary for this machine: its optional dependency opencode-linux-<arch>, then the
 * -baseline twin built for CPUs without AVX2 (npm installs both; the first that runs is the one).
 */
export function opencodeBinaries(dir: string, arch: string = process.arch): string[] {
  const platform = arch === "x64" || arch === "arm64" ? `opencode-linux-${arch}` : undefined;
  if (process.platform !== "linux" || platform === undefined) return [];
  return [platform, `${platform}-baseline`].map((name) => join(dir, "node_modules", name, "bin", "opencode"));
}

/**
 * The OpenCode installation in `opencodeDir` and its version, or why there is none with the fix. Runs
 * `--version` with a minimal environment and a HOME and TMPDIR of its own, so that nothing of the worker's
 * user (config, caches) is read or left behind.
 */
export async function findOpencode(opencodeDir: string, timeoutMs = VERSION_TIMEOUT_MS): Promise<OpencodeInstall | { refusal: string }> {
  const candidates = opencodeBinaries(opencodeDir);
  if (candidates.length === 0)
    return { refusal: `OpenCode has no build for ${process.platform}/${process.arch}; agent tasks need Linux on x64 or arm64` };
  const failures: string[] = [];
  for (const binary of candidates) {
    const executable = await access(binary, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (!executable) continue;
    try {
      return { dir: opencodeDir, binary, version: await opencodeVersion(binary, timeoutMs) };
    } catch (error) {
      failures.push(`${binary} --version: ${versionFailure(error as Error, timeoutMs)}`);
    }
  }
  if (failures.length === 0) return { refusal: `OpenCode is not installed in ${opencodeDir} (no ${candidates[0]}): ${FIX}` };
  return { refusal: `OpenCode in ${opencodeDir} does not run (${failures.join("; ")}): ${FIX}` };
}

async function opencodeVersion(binary: string, timeoutMs: number): Promise<string> {
  const scratch = await mkdtemp(join(tmpdir(), "opencode-version-"));
  try {
    const { stdout } = await execFileAsync(binary, ["--version"], {
      env: { HOME: scratch, TMPDIR: scratch, PATH: "/usr/bin:/bin" },
      cwd: scratch,
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    const version = stdout.trim();
    if (!/^\d+\.\d+\.\d+\S*$/.test(version)) throw new Error(`printed no version: ${JSON.stringify(version.slice(0, 80))}`);
    return version;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Why `--version` failed, in a few words: the refusal is one line of the probe. */
function versionFailure(error: Error & { killed?: boolean; code?: unknown; stderr?: string }, timeoutMs: number): string {
  if (error.killed) return `no answer within ${timeoutMs} ms`;
  if (typeof error.code !== "number") return error.message;
  const said = error.stderr?.trim().split("\n")[0];
  return `exit ${error.code}${said ? `: ${said.slice(0, 200)}` : ""}`;
}
