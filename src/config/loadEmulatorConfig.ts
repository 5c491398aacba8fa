import { ConfigError } from "./ConfigError.js";
import { readInteger, setting, type Env } from "./env.js";
import { parseFaultRules, type EmulatorFaultRule } from "./parseFaultRules.js";
import { readHost } from "./readListening.js";
import { readRegion } from "./readUpstream.js";

/** How the emulator answers, embedded or standalone: `APPFABRIC_EMULATOR_LATENCY_MS` and `APPFABRIC_EMULATOR_FAULTS`. */
export interface EmulatorBehaviour {
  latencyMs: number;
  faults: EmulatorFaultRule[];
}

/** What `npm run emulator` (the standalone emulator, `src/runEmulator.ts`) is run with. */
export interface EmulatorConfig extends EmulatorBehaviour {
  host: string;
  port: number;
  region: string;
}

export function readEmulatorBehaviour(env: Env): EmulatorBehaviour {
  return { latencyMs: readInteger(env, "APPFABRIC_EMULATOR_LATENCY_MS"), faults: readFaults(env) };
}

/**
 * The standalone emulator's settings: the embedded emulator's own (`AWS_REGION`,
 * `APPFABRIC_EMULATOR_LATENCY_MS`, `APPFABRIC_EMULATOR_FAULTS`), with `EMULATOR_HOST` (default
 * 127.0.0.1: it accepts the published demo key, so it is not for other machines unless asked) and
 * `EMULATOR_PORT`.
 */
export function loadEmulatorConfig(env: Env): EmulatorConfig {
  return {
    host: readHost(env, "EMULATOR_HOST"),
    port: readInteger(env, "EMULATOR_PORT"),
    region: readRegion(env),
    ...readEmulatorBehaviour(env),
  };
}

function readFaults(env: Env): EmulatorFaultRule[] {
  const raw = setting(env, "APPFABRIC_EMULATOR_FAULTS");
  if (raw === undefined) return [];
  const parsed = parseFaultRules(raw);
  if (typeof parsed === "string") throw new ConfigError("APPFABRIC_EMULATOR_FAULTS", `a JSON list of fault rules (see the README): ${parsed}`, raw);
  return parsed;
}
