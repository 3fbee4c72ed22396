/**
 * The OpenCode plugin of opencode-worker: tools that let an agent run commands on remote, isolated
 * workers, follow them live, and read their results sized for a model.
 *
 * Every export of this module must be a plugin function (opencode refuses the whole module
 * otherwise, silently), so the helpers live in their own modules.
 *
 * @example opencode.json
 * { "plugin": [["/path/to/opencode-worker/packages/opencode-plugin", { "address": "10.0.0.5:50051" }]] }
 */
import type { Plugin } from "@opencode-ai/plugin";
import { asksForRemoteBash, readSettings, SettingsError } from "./settings.js";
import { WorkerAccess } from "./tools/worker-access.js";
import { workerTools } from "./worker-tools.js";

export const OpencodeWorkerPlugin: Plugin = async (_input, options) => {
  // A bad setting must not fail the load (that is silent in opencode): every tool reports it instead.
  let settings;
  try {
    settings = readSettings(options, process.env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    settings = error;
  }
  const worker = new WorkerAccess(settings);
  return {
    // With unusable settings a bash that was asked for still replaces opencode's (and says what is wrong):
    // falling back to running commands locally would be a silent loss of isolation.
    tool: workerTools(worker, {
      remoteBash: settings instanceof SettingsError ? asksForRemoteBash(options, process.env) : settings.remoteBash,
    }),
    dispose: async () => worker.close(),
  };
};
