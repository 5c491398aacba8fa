/** A setting that is present but wrong. Its message names the variable and what was expected. */
export class ConfigError extends Error {
  constructor(variable: string, expected: string, received: string) {
    // Control characters are escaped: the error stays one line, and a value cannot forge another.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    super(
      `${variable} must be ${expected}; received "${received.replace(/[\u0000-\u001f\u007f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)}".`,
    );
    this.name = "ConfigError";
  }
}
