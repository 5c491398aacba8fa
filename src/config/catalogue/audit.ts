import type { SettingSpec } from "../SettingSpec.js";

export const audit = {
  group: "Audit trail and metrics",
  settings: [
    {
      name: "AUDIT_LOG",
      kind: "text",
      default: "stdout",
      values: "`stdout`, a file path or `off`",
      doc: "where the audit trail goes (a file is opened for append, mode 600 when created; one this process cannot append to or create stops the start)",
    },
    {
      name: "AUDIT_KEY",
      kind: "text",
      shown: "secret",
      shownDefault: "none: no digest",
      values: "at least 32 characters",
      doc: "the HMAC key of the audit trail's `emailDigest`",
    },
    {
      name: "METRICS_OPERATION_NAMES",
      kind: "text",
      shownDefault: "none",
      values: "comma-separated operation names",
      doc: "operation names that get their own `operation_name` metric label; every other name counts as `(other)`",
    },
  ],
} as const satisfies { group: string; settings: readonly SettingSpec[] };
