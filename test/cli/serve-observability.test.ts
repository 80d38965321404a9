/**
 * `fichier-dav serve` as spawned by a user or systemd: JSON log lines (one per WebDAV request and
 * per upstream call, never the key), Prometheus metrics and /healthz on --metrics-port, and the
 * config file / environment / flag precedence of its settings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { CLI_MAIN } from '../support/built-cli.js';

const KEY = 'observability-key-9f8e7d6c5b';
let sim: Simulator;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  await sim.addFile({ name: 'hello.txt', content: 'hello world' });
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-serve-obs-'));
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

afterAll(async () => {
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Served {
  url: string;
  stdout: () => string;
  stderr: () => string;
  logLines: () => Array<Record<string, unknown>>;
  stop(): Promise<number | null>;
}

async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--time-scale', '0.01', '--log-format', 'json', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_CACHE_HOME: join(dir, 'cache'), XDG_STATE_HOME: join(dir, 'state'), FICHIER_API_KEY: KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /serving .* at http:\/\/[^:/]+:(\d+)\//.exec(out);
      if (match) resolve(`http://127.0.0.1:${match[1]}`);
    });
    void exit.then((code) => reject(new Error(`serve exited with ${code}:\n${out}\n${err}`)));
  });
  const logLines = () =>
    err
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    url,
    stdout: () => out,
    stderr: () => err,
    logLines,
    stop: async () => {
      child.kill('SIGTERM');
      return exit;
    },
  };
}

describe('serve observability', () => {
  it('logs JSON lines per request and per upstream call, and serves /metrics and /healthz', async () => {
    const served = await serve(['--api-url', sim.apiUrl, '--port', '0', '--metrics-port', '0']);
    expect((await fetch(`${served.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    expect(await (await fetch(`${served.url}/hello.txt`)).text()).toBe('hello world');
    await new Promise((resolve) => setTimeout(resolve, 200));

    const lines = served.logLines();
    const serving = lines.find((line) => line.msg === 'serving');
    expect(serving).toBeDefined();
    const metricsUrl = String(serving!.metrics);
    const requests = lines.filter((line) => line.msg === 'request');
    expect(requests.map((line) => `${line.method} ${line.path} ${line.status}`)).toEqual(['PROPFIND / 207', 'GET /hello.txt 200']);
    expect(requests[1].bytesSent).toBeGreaterThanOrEqual(11);
    expect(typeof requests[1].ms).toBe('number');
    const upstream = lines.filter((line) => line.msg === 'upstream').map((line) => line.endpoint);
    expect(upstream).toContain('folder/ls.cgi');
    expect(upstream).toContain('download/get_token.cgi');

    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).toContain('fichier_dav_api_calls_total{endpoint="folder/ls.cgi",outcome="ok"} 1');
    expect(metrics).toContain('fichier_dav_webdav_requests_total{method="PROPFIND",status="207"} 1');
    expect(metrics).toMatch(/fichier_dav_scheduler_queue_depth\{priority="interactive"\} 0/);
    expect(metrics).toMatch(/fichier_dav_cache_misses_total\{cache="blocks"\} \d+/);
    expect(metrics).toMatch(/fichier_dav_cache_hits_total\{cache="folders"\} [1-9]/);
    const health = await fetch(metricsUrl.replace('/metrics', '/healthz'));
    expect(health.status).toBe(200);
    expect((await fetch(metricsUrl.replace('/metrics', '/readyz'))).status).toBe(200);

    expect(served.stderr()).not.toContain(KEY);
    expect(await served.stop()).toBe(0);
  }, 60_000);

  it('takes settings from flags over environment over the config file', async () => {
    const config = join(dir, 'serve.json');
    await writeFile(config, JSON.stringify({ apiUrl: 'http://127.0.0.1:9/v1', port: 1, logLevel: 'warn', downloads: 'redirect' }));
    // Flag beats the file for the API URL; the environment beats the file for the port.
    const served = await serve(['--config', config, '--api-url', sim.apiUrl], { FICHIER_DAV_PORT: '0' });
    const redirect = await fetch(`${served.url}/hello.txt`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    // logLevel "warn" from the file: no per-request info lines.
    expect(served.logLines().filter((line) => line.msg === 'request')).toEqual([]);
    expect(await served.stop()).toBe(0);
  }, 60_000);

  it('answers /healthz and /readyz on the WebDAV port without authentication and without data', async () => {
    const served = await serve(['--api-url', sim.apiUrl, '--port', '0', '--user', 'alice'], { FICHIER_DAV_PASS: 'secret-pass-1' });
    expect((await fetch(`${served.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(401);
    for (const path of ['/healthz', '/readyz']) {
      const response = await fetch(`${served.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.text()).toBe('ok\n');
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
    // Only GET/HEAD are health checks: other methods still need authentication.
    expect((await fetch(`${served.url}/readyz`, { method: 'PROPFIND' })).status).toBe(401);
    expect(await served.stop()).toBe(0);
  }, 60_000);

  it('/readyz turns 503 once 1fichier refuses the key (revoked while serving); /healthz stays 200', async () => {
    // A key refused at start stops serve with exit 4 (serve-start.test.ts); here it is revoked later.
    const served = await serve(['--api-url', sim.apiUrl, '--port', '0']);
    expect((await fetch(`${served.url}/readyz`)).status).toBe(200);
    const accepted = sim.apiKey;
    sim.setOptions({ apiKey: 'another-key-the-account-now-has' });
    try {
      expect((await fetch(`${served.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBeGreaterThanOrEqual(400);
      const ready = await fetch(`${served.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(/refused the API key/);
      expect((await fetch(`${served.url}/healthz`)).status).toBe(200);
    } finally {
      sim.setOptions({ apiKey: accepted });
    }
    expect(await served.stop()).toBe(0);
  }, 60_000);

  it('prints the mount commands; bound to 0.0.0.0 it names a reachable address, not 0.0.0.0', async () => {
    const served = await serve(['--api-url', sim.apiUrl, '--port', '0', '--host', '0.0.0.0', '--allow-anonymous']);
    for (let tries = 0; !served.stdout().includes('curl -X PROPFIND') && tries < 200; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    const out = served.stdout();
    expect(out).toMatch(/Mount it:/);
    expect(out).toMatch(/net use Z: http:\/\/[\d.]+:\d+\//);
    expect(out).not.toContain('0.0.0.0');
    expect(await served.stop()).toBe(0);
  }, 60_000);

  it('refuses a config file holding the API key, naming the fix', async () => {
    const config = join(dir, 'bad.json');
    await writeFile(config, JSON.stringify({ apiKey: KEY }));
    const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--config', config], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, FICHIER_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/must not hold the API key/);
    expect(err).not.toContain(KEY);
  }, 30_000);
});
