import type { SettingSpec } from "../SettingSpec.js";

export const emulator = {
  group: "The emulator",
  settings: [
    {
      name: "APPFABRIC_EMULATOR_LATENCY_MS",
      kind: "integer",
      default: 0,
      min: 0,
      max: 60_000,
      doc: "emulator only: delay added to every answer",
    },
    {
      name: "APPFABRIC_EMULATOR_FAULTS",
      kind: "text",
      shownDefault: "none",
      values: "a JSON list of fault rules",
      doc: "emulator only: faults to inject (see [docs/operating.md](docs/operating.md#failure-behaviour))",
    },
    { name: "EMULATOR_PORT", kind: "integer", default: 4510, min: 0, max: 65535, doc: "`npm run emulator` only: the standalone emulator's port" },
    {
      name: "EMULATOR_HOST",
      kind: "text",
      default: "127.0.0.1",
      values: "an IP address or a host name",
      doc: "`npm run emulator` only: the address it listens on (it accepts the published demo key: keep it off other machines unless asked)",
    },
  ],
} as const satisfies { group: string; settings: readonly SettingSpec[] };
