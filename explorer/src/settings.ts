/** What the service writes into the page: the example operation and its variables (the emulator's demo ids). */
export interface ExplorerSettings {
  query: string;
  variables: Record<string, unknown>;
}

/** Reads the settings the service put in `<script type="application/json" id="explorer-settings">`; none: an empty editor. */
export function readExplorerSettings(document: Document): ExplorerSettings {
  const text = document.getElementById("explorer-settings")?.textContent?.trim() ?? "";
  if (text === "") return { query: "", variables: {} };
  const parsed = JSON.parse(text) as Partial<ExplorerSettings>;
  return { query: typeof parsed.query === "string" ? parsed.query : "", variables: parsed.variables ?? {} };
}
