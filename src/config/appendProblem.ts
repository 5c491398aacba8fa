import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Why a file could not be opened to append to, without opening it (nothing is created by checking):
 * the error code (`EROFS`, `EACCES`, `ENOENT` for a missing folder) or `a directory`; undefined when
 * it can. A start (and `--print-config`) says so in one line instead of crashing at the first write.
 */
export function appendProblem(path: string): string | undefined {
  try {
    if (statSync(path).isDirectory()) return "a directory";
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (error) {
    if (codeOf(error) !== "ENOENT") return codeOf(error);
  }
  try {
    accessSync(dirname(path), constants.W_OK);
    return undefined;
  } catch (error) {
    return codeOf(error);
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "unusable";
}
