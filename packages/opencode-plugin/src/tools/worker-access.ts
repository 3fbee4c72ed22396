import { WorkerClient } from "@opencode-worker/master-client";
import { renderError } from "../report/render-error.js";
import { type PluginSettings, SettingsError } from "../settings.js";

/**
 * What every tool shares: the settings (or why they are unusable) and one lazily connected client.
 * `use()` runs a tool's body and turns any failure into the text the model reads, so a tool never
 * throws: an unreachable worker or a refusal is an answer, not a stack.
 */
export class WorkerAccess {
  readonly #settings: PluginSettings | SettingsError;
  #client: WorkerClient | undefined;

  constructor(settings: PluginSettings | SettingsError) {
    this.#settings = settings;
  }

  async use(body: (client: WorkerClient, settings: PluginSettings) => Promise<string>): Promise<string> {
    const settings = this.#settings;
    if (settings instanceof SettingsError) return `opencode-worker plugin is misconfigured: ${settings.message}`;
    try {
      this.#client ??= WorkerClient.lazy({ address: settings.address, requestTimeoutMs: settings.requestTimeoutMs });
      return await body(this.#client, settings);
    } catch (error) {
      return renderError(error, settings.address);
    }
  }

  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}
