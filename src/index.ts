/**
 * The package's library entry (`import { FichierClient } from 'fichier-dav'`): the typed 1fichier
 * client, its scheduler, errors, name codec and helpers. The CLI (`fichier-dav`) is the other
 * entry; the simulator is `fichier-dav/simulator`, for tests against a local 1fichier.
 */
export * from './fichier/index.js';
