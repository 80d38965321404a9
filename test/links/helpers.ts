/** Changes made on the account directly (as the website, rclone or another tool would), not through the bridge. */
import type { Simulator } from '../../src/simulator/index.js';

/** One call to the simulator's API with the account's key; resolves with its JSON answer. */
export async function accountApi(sim: Simulator, endpoint: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(`${sim.apiUrl}/${endpoint}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${sim.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200 || answer.status === 'KO') throw new Error(`${endpoint} answered ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

export const renameOnAccount = (sim: Simulator, url: string, filename: string) => accountApi(sim, 'file/rename.cgi', { urls: [{ url, filename }], pretty: 0 });
export const moveOnAccount = (sim: Simulator, url: string, folderId: number) => accountApi(sim, 'file/mv.cgi', { urls: [url], destination_folder_id: folderId });
export const removeOnAccount = (sim: Simulator, url: string) => accountApi(sim, 'file/rm.cgi', { files: [{ url }] });
