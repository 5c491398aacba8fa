// Matching control characters is the point: they are escaped so that an error stays one line.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** A setting that is present but wrong. Its message names the variable and what was expected. */
export class ConfigError extends Error {
  constructor(variable: string, expected: string, received: string) {
    // A value with a line break (or any control character) cannot forge another line.
    const shown = received.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
    super(`${variable} must be ${expected}; received "${shown}".`);
    this.name = "ConfigError";
  }
}
