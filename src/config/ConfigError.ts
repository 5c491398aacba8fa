/** A setting that is present but wrong. Its message names the variable and what was expected. */
export class ConfigError extends Error {
  constructor(variable: string, expected: string, received: string) {
    super(`${variable} must be ${expected}; received "${received}".`);
    this.name = "ConfigError";
  }
}
