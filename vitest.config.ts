import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      // Real HTTP on loopback: the service and the emulator each on an ephemeral port.
      { test: { name: "integration", include: ["test/integration/**/*.test.ts"], testTimeout: 20_000 } },
    ],
  },
});
