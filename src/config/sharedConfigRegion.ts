import { getProfileName, loadSharedConfigFiles } from "@smithy/core/config";
import type { Env } from "./env.js";

/**
 * The `region` of the AWS profile (`AWS_PROFILE`, else `default`) in the shared config file
 * (`AWS_CONFIG_FILE`, else ~/.aws/config; then the credentials file), read with smithy's own loader, as
 * AWS SDKs resolve the region when `AWS_REGION` and `AWS_DEFAULT_REGION` are unset. Undefined when
 * there is no such file, profile or region (the files are optional, as for the SDKs).
 */
export async function sharedConfigRegion(env: Env): Promise<{ region: string; profile: string } | undefined> {
  const profile = getProfileName({ profile: env["AWS_PROFILE"] });
  try {
    const { configFile, credentialsFile } = await loadSharedConfigFiles({
      configFilepath: env["AWS_CONFIG_FILE"],
      filepath: env["AWS_SHARED_CREDENTIALS_FILE"],
      ignoreCache: true,
    });
    const region = configFile[profile]?.["region"] ?? credentialsFile[profile]?.["region"];
    return region === undefined || region === "" ? undefined : { region: region.trim(), profile };
  } catch {
    return undefined;
  }
}
