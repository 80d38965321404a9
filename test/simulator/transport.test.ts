import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { api, NO_LIMITS, raw } from './helpers.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'premium-key', freeApiKey: 'free-key', ...NO_LIMITS });
});
afterAll(async () => {
  await sim.close();
});

describe('transport and envelope (§2, §10 items 1-4)', () => {
  it('answers JSON with charset and nginx, and accepts an empty body as {}', async () => {
    const r = await api(sim, 'folder/ls.cgi');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(r.headers.get('server')).toBe('nginx');
    expect(r.json).toMatchObject({ status: 'OK', folder_id: 0, name: 'Root' });
  });

  it('refuses a missing or non-JSON Content-Type with #24 (status configurable)', async () => {
    for (const contentType of [null, 'text/plain', 'application/x-www-form-urlencoded']) {
      const r = await api(sim, 'folder/ls.cgi', { folder_id: 0 }, { contentType });
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ status: 'KO', message: 'Content-Type not JSON #24' });
    }
    sim.setOptions({ contentTypeStatus: 415 });
    try {
      expect((await api(sim, 'user/info.cgi', undefined, { contentType: null })).status).toBe(415);
    } finally {
      sim.setOptions({ contentTypeStatus: 400 });
    }
    // A charset parameter is fine.
    expect((await api(sim, 'folder/ls.cgi', {}, { contentType: 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it('refuses a bad key with 401 Not authenticated #247, or No such user #93 when configured', async () => {
    const bad = await api(sim, 'folder/ls.cgi', {}, { key: 'wrong' });
    expect(bad.status).toBe(401);
    expect(bad.json).toEqual({ status: 'KO', message: 'Not authenticated #247' });
    const none = await api(sim, 'folder/ls.cgi', {}, { key: null });
    expect(none.status).toBe(401);
    sim.setOptions({ badKeyMessage: 'no-such-user', badKeyStatus: 403 });
    try {
      const r = await api(sim, 'folder/ls.cgi', {}, { key: 'Premium-Key' });
      expect(r.status).toBe(403);
      expect(r.json.message).toBe('No such user #93');
    } finally {
      sim.setOptions({ badKeyMessage: 'not-authenticated', badKeyStatus: 401 });
    }
  });

  it('refuses a free account key with #200', async () => {
    const r = await api(sim, 'file/ls.cgi', { folder_id: 0 }, { key: 'free-key' });
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ status: 'KO', message: 'Must be a customer (Premium, Access) #200' });
  });

  it('answers 404 JSON KO for an unknown endpoint and for the blog-fiction ones', async () => {
    for (const ep of ['file/delete.cgi', 'upload/upload.cgi', 'account/info.cgi', 'folder/list.cgi']) {
      const r = await api(sim, ep, {});
      expect(r.status).toBe(404);
      expect(r.json.status).toBe('KO');
      expect(r.json.message).toMatch(/#\d+$/);
    }
  });

  it('refuses GET on POST-only endpoints and malformed JSON bodies with a KO', async () => {
    const get = await api(sim, 'folder/ls.cgi', undefined, { method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.json.status).toBe('KO');
    const broken = await api(sim, 'folder/ls.cgi', undefined, { rawBody: '{"folder_id":' });
    expect(broken.status).toBe(400);
    expect(broken.json.status).toBe('KO');
    const arr = await api(sim, 'folder/ls.cgi', undefined, { rawBody: '[1,2]' });
    expect(arr.status).toBe(400);
  });

  it('pretty-prints with pretty:1 and keeps compact JSON otherwise', async () => {
    const pretty = await api(sim, 'folder/ls.cgi', { pretty: 1 });
    expect(pretty.text).toMatch(/^\{\n {4}"/);
    const compact = await api(sim, 'folder/ls.cgi', { pretty: 0 });
    expect(compact.text).not.toContain('\n');
  });

  it('randomises the key order of answers', async () => {
    const orders = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await api(sim, 'file/ls.cgi', { folder_id: 0 });
      orders.add(Object.keys(r.json).join(','));
    }
    expect(orders.size).toBeGreaterThan(1);
    const first = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await api(sim, 'file/rename.cgi', { urls: [{ url: 'https://1fichier.com/?zzzzzzzzzzzzzzzzzzzz', filename: 'x' }] });
      first.add(Object.keys(r.json)[0]!);
    }
    expect([...first].sort()).toEqual(['message', 'status']);
  });

  it('never answers JSON on the upload or download hosts for unknown paths, and survives garbage', async () => {
    const r = await raw(`http://${sim.uploadHosts[0]}/nothing`);
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    const huge = await api(sim, 'folder/ls.cgi', undefined, { rawBody: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }) }).catch((e: Error) => e);
    if (!(huge instanceof Error)) expect(huge.status).toBe(413);
    expect((await api(sim, 'folder/ls.cgi', {})).status).toBe(200);
  });
});

describe('user/info.cgi (§4.1, §10 item 23)', () => {
  it('answers the full field set with mixed string/number types and no space fields', async () => {
    await sim.addFile({ name: 'quota.bin', content: Buffer.alloc(1234, 1) });
    const r = await api(sim, 'user/info.cgi');
    expect(r.status).toBe(200);
    const j = r.json;
    for (const k of ['email', 'offer', 'subscription_end', '2fa', 'mail_rm', 'ftp_mode', 'ftp_did', 'ftp_report', 'ru_report', 'default_domain', 'page_limit', 'default_port', 'default_port_files', 'cdn', 'use_cdn', 'download_menu', 'default_quota', 'default_cold_storage_quota', 'hot_storage', 'cold_storage', 'stats_date', 'allowed_cold_storage', 'available_storage', 'available_cold_storage', 'overquota', 'upload_forbidden']) {
      expect(j, k).toHaveProperty(k);
    }
    expect(j.offer).toBe('1');
    expect(typeof j.cdn).toBe('string');
    expect(typeof j.cold_storage).toBe('number');
    expect(j.cold_storage).toBeGreaterThanOrEqual(1234);
    expect(typeof j.available_cold_storage).toBe('number');
    expect(j.subscription_end).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(j).not.toHaveProperty('space');
    expect(j).not.toHaveProperty('space_used');
    sim.setOptions({ userInfoTypes: 'numbers' });
    try {
      expect((await api(sim, 'user/info.cgi')).json.offer).toBe(1);
    } finally {
      sim.setOptions({ userInfoTypes: 'mixed' });
    }
  });
});
