// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * typescript-eslint with type-aware rules, as the codebases this project learns from run it: floating
 * and misused promises matter most in code that shares work between requests.
 */
export default tseslint.config(
  { ignores: ["dist/", "**/__generated__/", "node_modules/", "examples/web/dist/", "explorer/dist/", "coverage/", "test-results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["eslint.config.js", ".dependency-cruiser.cjs", "examples/web/addTypename.mjs"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // Apollo's plugin hooks and the interfaces the sources implement are async by contract.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // The service's code reads in small pieces: a file a reader holds at once, a function that fits a
    // screen (code lines; its comments are not held against it). Generated code is ignored above.
    files: ["src/**/*.ts"],
    rules: {
      "max-lines": ["error", { max: 220 }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // dependency-cruiser reads a CommonJS config.
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable" } },
  },
  {
    // vitest's asymmetric matchers (expect.any, objectContaining) are typed `any`; fakes reject with signals' reasons.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
      "@typescript-eslint/no-base-to-string": "off",
    },
  },
  {
    // Callbacks that playwright runs in the page see DOM types this Node project does not load.
    files: ["test/e2e/**/*.ts"],
    rules: { "@typescript-eslint/no-unsafe-call": "off", "@typescript-eslint/no-unsafe-member-access": "off" },
  },
);
