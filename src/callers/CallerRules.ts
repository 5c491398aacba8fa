import type { RequiredScopes } from "./access.js";
import { openAuditTrail, type AuditTrail } from "./AuditTrail.js";
import { CallerBudgets, type BudgetObserver, type CallerBudgetSettings } from "./CallerBudgets.js";

/** What every operation applies to its caller: the scopes its actions need, its budgets, and the audit trail. */
export interface CallerRules {
  scopes: RequiredScopes;
  budgets: CallerBudgets;
  audit: AuditTrail;
}

/**
 * Rules for a server built without `startService` (benchmarks, tests): the given scopes and budgets
 * kept in this process, and the audit trail given or none.
 */
export function localCallerRules(options: {
  scopes?: RequiredScopes;
  budgets: CallerBudgetSettings;
  observer: BudgetObserver;
  audit?: AuditTrail;
}): CallerRules {
  return {
    scopes: options.scopes ?? {},
    budgets: new CallerBudgets({ settings: options.budgets, observer: options.observer }),
    audit: options.audit ?? openAuditTrail({ destination: "off" }),
  };
}
