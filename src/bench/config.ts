/** Sizes of the full run and of `--quick` (the reduced run that must finish in under a minute). */
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export interface BenchConfig {
  quick: boolean;
  folderFiles: number;
  warmPropfinds: number;
  bigFileBytes: number;
  seeks: number;
  seekBytes: number;
  probeFiles: number;
  probeBytes: number;
  putBytes: number;
  scanFolders: number;
  scanFilesPerFolder: number;
  scanTimeScale: number;
  scanConcurrency: number;
  loadSeconds: number;
  loadClients: number;
  loadWriters: number;
  cacheProbeFiles: number;
  cacheSeeks: number;
}

export const FULL: BenchConfig = {
  quick: false,
  folderFiles: 5000,
  warmPropfinds: 200,
  bigFileBytes: 4 * GiB,
  seeks: 200,
  seekBytes: 64 * 1024,
  probeFiles: 100,
  probeBytes: MiB,
  putBytes: GiB,
  scanFolders: 50,
  scanFilesPerFolder: 100,
  scanTimeScale: 0.05,
  scanConcurrency: 4,
  loadSeconds: 45,
  loadClients: 50,
  loadWriters: 5,
  cacheProbeFiles: 30,
  cacheSeeks: 200,
};

export const QUICK: BenchConfig = {
  quick: true,
  folderFiles: 500,
  warmPropfinds: 50,
  bigFileBytes: 256 * MiB,
  seeks: 50,
  seekBytes: 64 * 1024,
  probeFiles: 5,
  probeBytes: MiB,
  putBytes: 64 * MiB,
  scanFolders: 10,
  scanFilesPerFolder: 20,
  scanTimeScale: 0.05,
  scanConcurrency: 4,
  loadSeconds: 5,
  loadClients: 50,
  loadWriters: 5,
  cacheProbeFiles: 4,
  cacheSeeks: 30,
};
