import { readFileSync } from "node:fs";
import { WorkerClient, type WorkerClientOptions } from "@opencode-worker/master-client";
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
      this.#client ??= WorkerClient.lazy(clientOptions(settings));
      return await body(this.#client, settings);
    } catch (error) {
      if (error instanceof SettingsError) return `opencode-worker plugin is misconfigured: ${error.message}`;
      return renderError(error, settings.address);
    }
  }

  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}

/** The SDK's options, the certificate and token files read now: a rotated file takes effect with the next client. */
function clientOptions(settings: PluginSettings): WorkerClientOptions {
  const { caFile, certFile, keyFile, token, tokenFile } = settings;
  const tls =
    caFile === undefined && certFile === undefined && keyFile === undefined
      ? undefined
      : {
          ...(caFile !== undefined && { ca: readSetting("caFile", caFile) }),
          ...(certFile !== undefined && { cert: readSetting("certFile", certFile) }),
          ...(keyFile !== undefined && { key: readSetting("keyFile", keyFile) }),
        };
  const bearer = tokenFile === undefined ? token : readSetting("tokenFile", tokenFile).toString("utf8").trim();
  return {
    address: settings.address,
    requestTimeoutMs: settings.requestTimeoutMs,
    ...(tls !== undefined && { tls }),
    ...(bearer !== undefined && { token: bearer }),
  };
}

function readSetting(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new SettingsError(`${option} ${JSON.stringify(path)} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
