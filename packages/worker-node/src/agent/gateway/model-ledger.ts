import type { ModelUsage } from "@opencode-worker/shared";
import type { TokenCount } from "./usage-fields.js";

/** A delegated task's model budget, resolved from its limits. */
export interface ModelBudget {
  maxRequests: number;
  maxTokens: number;
}

/**
 * A job's model usage against its budget: numbers each request, admits or refuses it, adds up what the
 * provider reported, and says once that the budget is spent (the job is then stopped). Once spent, by
 * requests or tokens, every later request is refused: the agent's next call would only add to it.
 */
export class ModelLedger {
  private calls = 0;
  private readonly totals: ModelUsage = { requests: 0, inputTokens: 0, outputTokens: 0, refusedRequests: 0 };
  private spentNote: string | undefined;

  constructor(
    private readonly budget: ModelBudget,
    private readonly onBudgetSpent: (note: string) => void,
  ) {}

  /** The number of a request that just arrived: 1-based, over forwarded and refused requests alike. */
  number(): number {
    return ++this.calls;
  }

  /** Takes a request to forward out of the budget; returns why not when it is spent. */
  admit(): string | undefined {
    if (this.spentNote === undefined && this.totals.requests >= this.budget.maxRequests)
      this.spend(`model budget spent: ${this.totals.requests} of limits.model_max_requests ${this.budget.maxRequests}`);
    if (this.spentNote !== undefined) return this.spentNote;
    this.totals.requests += 1;
    return undefined;
  }

  /** A request refused for any reason, budget or route. */
  refused(): void {
    this.totals.refusedRequests += 1;
  }

  /** A forwarded request's response ended, with the tokens it reported. */
  settle(tokens: TokenCount): void {
    this.totals.inputTokens += tokens.input;
    this.totals.outputTokens += tokens.output;
    const spent = this.totals.inputTokens + this.totals.outputTokens;
    if (this.spentNote === undefined && spent > this.budget.maxTokens)
      this.spend(`model budget spent: ${spent} tokens of limits.model_max_tokens ${this.budget.maxTokens}`);
  }

  usage(): ModelUsage {
    return { ...this.totals };
  }

  private spend(note: string): void {
    this.spentNote = note;
    this.onBudgetSpent(note);
  }
}
