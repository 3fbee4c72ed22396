import { readBoolean, readObject, readPositiveInteger, readStringArray } from "../validate.js";
import { remoteOnlyMatcher } from "./remote-only.js";

export interface WorkspaceOptions {
  /**
   * Globs (the syntax of `artifacts`, relative to the root) of paths kept on the worker, e.g.
   * `["node_modules/**"]`: never read locally, and what the command writes there stays on the
   * worker, listed again in the next manifest by digest. Matched by the worker's own matcher.
   * @default []
   */
  remoteOnly?: string[];
  /** Honour `.gitignore` files (the root's and nested ones); `.git` is skipped either way. @default true */
  gitignore?: boolean;
  /** Entries a manifest may hold; more is refused before anything is sent. @default 50000 */
  maxEntries?: number;
  /** Bytes of file content a manifest may describe; more is refused before anything is sent. @default 2 GiB */
  maxBytes?: number;
}

export const DEFAULT_WORKSPACE_MAX_ENTRIES = 50_000;
export const DEFAULT_WORKSPACE_MAX_BYTES = 2 * 1024 ** 3;

export interface CompiledWorkspaceOptions {
  remoteOnly: string[];
  isRemoteOnly: (path: string) => boolean;
  gitignore: boolean;
  maxEntries: number;
  maxBytes: number;
}

export function compileWorkspaceOptions(input: WorkspaceOptions): CompiledWorkspaceOptions {
  const options = readObject("options", input, ["remoteOnly", "gitignore", "maxEntries", "maxBytes"], "");
  const remoteOnly = options.remoteOnly === undefined ? [] : readStringArray("remoteOnly", options.remoteOnly);
  return {
    remoteOnly,
    isRemoteOnly: remoteOnlyMatcher(remoteOnly),
    gitignore: options.gitignore === undefined ? true : readBoolean("gitignore", options.gitignore),
    maxEntries: options.maxEntries === undefined ? DEFAULT_WORKSPACE_MAX_ENTRIES : readPositiveInteger("maxEntries", options.maxEntries),
    maxBytes: options.maxBytes === undefined ? DEFAULT_WORKSPACE_MAX_BYTES : readPositiveInteger("maxBytes", options.maxBytes),
  };
}
