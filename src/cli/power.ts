import type { ApiClient } from './client.js';
import { UsageError } from './machines.js';

type Values = Record<string, string | boolean | string[] | undefined>;

/** `rackboot power …` and `rackboot bootdev …` (filled in by the BMC subsystem). */
export async function powerCommand(_api: ApiClient, cmd: string, _args: string[], _o: Values): Promise<string> {
  throw new UsageError(`${cmd}: not available yet`);
}
