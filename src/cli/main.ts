#!/usr/bin/env node
/** The `fichier-dav` executable. */
import { buildProgram } from './program.js';

await buildProgram().parseAsync(process.argv);
