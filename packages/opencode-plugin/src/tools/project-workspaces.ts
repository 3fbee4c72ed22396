import type { RemoteWorkspace, WorkerClient } from "@opencode-worker/master-client";

/** The project's workspace on the worker, for a client and a project directory. */
export type ProjectWorkspaces = (client: WorkerClient, root: string, remoteOnly: string[]) => RemoteWorkspace;

/**
 * One workspace per client and project directory, kept for the plugin's life and shared by the tools
 * that run over the project (the remote bash, delegated tasks): its hash cache makes the next manifest
 * a stat walk, and it remembers what stays on the worker (remoteOnly), whichever tool made it.
 */
export function projectWorkspaces(): ProjectWorkspaces {
  // Keyed by client: after close() a new client starts afresh, and the old workspaces go with the old one.
  const workspaces = new WeakMap<WorkerClient, Map<string, RemoteWorkspace>>();
  return (client, root, remoteOnly) => {
    const byRoot = workspaces.get(client) ?? new Map<string, RemoteWorkspace>();
    workspaces.set(client, byRoot);
    const workspace = byRoot.get(root) ?? client.workspace(root, { remoteOnly });
    byRoot.set(root, workspace);
    return workspace;
  };
}
