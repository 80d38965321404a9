/** The CLI compiled once for the whole run by test/global-setup.ts. */
import { CLI_MAIN } from '../support/built-cli.js';

export const CLI = CLI_MAIN;

export function buildCli(): string {
  return CLI_MAIN;
}
