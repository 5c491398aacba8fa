import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { knownVariables } from "../../src/config/catalogue.js";
import { loadConfig } from "../../src/config/loadConfig.js";
import { settingWarnings } from "../../src/config/settingWarnings.js";

/**
 * deploy/kubernetes against what the service and its image really are: every variable a setting,
 * the settings a valid production configuration, the probes on the service's routes, the grace
 * period longer than the drain, the user the Containerfile runs as. No cluster runs here; what a
 * cluster would do with these manifests is Kubernetes' part, what they tell the service is ours.
 */
const DIR = new URL("../../deploy/kubernetes/", import.meta.url);

interface Manifest {
  kind: string;
  metadata: { name: string };
  [key: string]: unknown;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path: string; port: string };
}
interface Container {
  name: string;
  ports: Array<{ name: string; containerPort: number }>;
  env: EnvVar[];
  envFrom: Array<{ configMapRef?: { name: string } }>;
  livenessProbe: Probe;
  readinessProbe: Probe;
  startupProbe: Probe;
  lifecycle: { preStop: { sleep: { seconds: number } } };
  resources: { requests: { memory: string; cpu: string }; limits: { memory: string } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; capabilities: { drop: string[] } };
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number; runAsGroup: number };
  containers: Container[];
}

function manifests(): Manifest[] {
  const kustomization = parseAllDocuments(readFileSync(new URL("kustomization.yaml", DIR), "utf8"))[0]?.toJS() as { resources: string[] };
  return kustomization.resources.flatMap((file) => parseAllDocuments(readFileSync(new URL(file, DIR), "utf8")).map((document) => document.toJS() as Manifest));
}

function find<T>(kind: string, name: string): T {
  const found = manifests().find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (found === undefined) throw new Error(`deploy/kubernetes has no ${kind} ${name}`);
  return found as T;
}

const deployment = () => find<{ spec: { selector: { matchLabels: Record<string, string> }; template: { spec: PodSpec } } }>("Deployment", "appfabric-subgraph");
const subgraph = () => deployment().spec.template.spec.containers[0] as Container;
const configMap = () => find<{ data: Record<string, string> }>("ConfigMap", "appfabric-subgraph").data;
const secretKeys = () => Object.keys(find<{ stringData: Record<string, string> }>("Secret", "appfabric-subgraph").stringData);

/** What the service's container is given: the ConfigMap's variables and its own, secrets as stand-ins of the right shape. */
function containerEnvironment(): Record<string, string> {
  const standIns: Record<string, string> = {
    ROUTER_SECRET: randomBytes(24).toString("base64url"),
    REDIS_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    AUDIT_KEY: randomBytes(32).toString("base64url"),
    REDIS_URL: "redis://:stand-in@appfabric-subgraph-redis:6379/0",
  };
  const own = Object.fromEntries(subgraph().env.map((variable) => [variable.name, variable.value ?? standIns[variable.name] ?? ""]));
  return { ...configMap(), ...own };
}

describe("deploy/kubernetes", () => {
  it("gives the service only variables it reads, secrets from the Secret, and they make a valid production configuration", () => {
    const env = containerEnvironment();
    const known = knownVariables();
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
    for (const variable of subgraph().env) expect(variable.valueFrom?.secretKeyRef?.name).toBe("appfabric-subgraph");
    expect(secretKeys()).toEqual(expect.arrayContaining(subgraph().env.map((variable) => variable.valueFrom?.secretKeyRef?.key)));
    expect(subgraph().envFrom).toEqual([{ configMapRef: { name: "appfabric-subgraph" } }]);

    const config = loadConfig(env);
    expect(config.production).toBe(true);
    expect(config.upstream.kind).toBe("aws");
    expect(config.fleet.redis).toBeDefined();
    // Nothing the start would warn about (a former name, a typo, a missing AUDIT_KEY).
    expect(settingWarnings(config)).toEqual([]);
  });

  it("lets the drain finish: the grace period is longer than the preStop pause plus SHUTDOWN_GRACE_MS", () => {
    const pod = deployment().spec.template.spec;
    const config = loadConfig(containerEnvironment());
    const drainMs = subgraph().lifecycle.preStop.sleep.seconds * 1_000 + config.limits.shutdownGraceMs;
    expect(pod.terminationGracePeriodSeconds * 1_000).toBeGreaterThan(drainMs);
  });

  it("probes liveness at /health and readiness at /ready, on the port the service listens on", () => {
    const container = subgraph();
    expect(container.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(container.startupProbe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(container.readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" });
    expect(container.ports).toEqual([{ name: "http", containerPort: loadConfig(containerEnvironment()).port }]);
  });

  it("runs as the Containerfile's user, non-root, read-only, without capabilities", () => {
    const user = /^USER (\d+):(\d+)$/m.exec(readFileSync(new URL("../../Containerfile", import.meta.url), "utf8"));
    const pod = deployment().spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(user?.[1]), runAsGroup: Number(user?.[2]) });
    expect(subgraph().securityContext).toEqual({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
  });

  it("keeps a replica through voluntary disruptions, and routes the Service to the Deployment's pods", () => {
    const labels = deployment().spec.selector.matchLabels;
    const budget = find<{ spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>("PodDisruptionBudget", "appfabric-subgraph");
    expect(budget.spec.selector.matchLabels).toEqual(labels);
    expect(budget.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(find<{ spec: { replicas: number } }>("Deployment", "appfabric-subgraph").spec.replicas).toBeGreaterThan(budget.spec.minAvailable);
    expect(find<{ spec: { selector: Record<string, string> } }>("Service", "appfabric-subgraph").spec.selector).toEqual(labels);
  });

  it("starts Redis with the password REDIS_URL carries, and no persistence", () => {
    const secret = find<{ stringData: Record<string, string> }>("Secret", "appfabric-subgraph").stringData;
    expect(new URL(secret["REDIS_URL"] ?? "").password).toBe(secret["REDIS_PASSWORD"]);
    const redis = find<{ spec: { template: { spec: PodSpec } } }>("Deployment", "appfabric-subgraph-redis").spec.template.spec.containers[0] as Container & {
      args: string[];
    };
    expect(redis.args.slice(0, 2)).toEqual(["--requirepass", "$(REDIS_PASSWORD)"]);
    expect(redis.args).toEqual(expect.arrayContaining(["--save", "", "--appendonly", "no"]));
    expect(new URL(secret["REDIS_URL"] ?? "").host).toBe("appfabric-subgraph-redis:6379");
    expect(find<{ spec: { ports: Array<{ port: number }> } }>("Service", "appfabric-subgraph-redis").spec.ports[0]?.port).toBe(6379);
  });
});
