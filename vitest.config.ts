import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // graphql 16 has no `exports` map: Node loads its CommonJS build (as @apollo/server does), Vite
    // would prefer the ESM one. Two copies mean two GraphQLError classes; resolve it as Node does.
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    reporters: ["default", "./test/support/SummaryReporter.ts"],
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      // Real HTTP on loopback: the service and the emulator each on an ephemeral port.
      { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"], testTimeout: 20_000 } },
      // Attacks on the production configuration over real HTTP, one file per class of hole (docs: README "Security model").
      { extends: true, test: { name: "attack", include: ["test/attack/**/*.test.ts"], testTimeout: 30_000 } },
      // The example frontend in Debian's Chromium (playwright-core), against the service on the emulator.
      { extends: true, test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], testTimeout: 60_000 } },
      // The image (Containerfile) built with podman from its locally made bases, run and stopped.
      { extends: true, test: { name: "container", include: ["test/container/**/*.test.ts"], testTimeout: 60_000 } },
    ],
  },
});
