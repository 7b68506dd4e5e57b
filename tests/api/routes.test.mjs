// Routing, the response envelope, request logging, robustness of the HTTP layer.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { useServer, assertOk, assertErr, createDb } from './harness.mjs';

function allowSet(res) {
	const allow = res.headers.get('allow');
	assert.ok(allow, `no Allow header on ${res.status}: ${res.text}`);
	return new Set(allow.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean));
}

describe('routes', () => {
	const h = useServer();
	let db;

	before(async () => {
		db = await createDb(h.srv, 'routes-db');
	});

	test('unknown routes → 404 code 7000', async () => {
		const srv = h.srv;
		const a = srv.account.id;
		for (const p of ['/nope', `/accounts/${a}/d1/foo`, `/accounts/${a}/d1`, `/accounts/${a}/nope`, `/accounts/${a}/d1/database/${db.uuid}/nonsense`, `/accounts/${a}/d1/database/${db.uuid}/x/y/z`]) {
			assertErr(await srv.api('GET', p), 404, 7000);
		}
		assertErr(await srv.api('POST', '/nope', { body: {} }), 404, 7000);
		assertErr(await srv.api('DELETE', `/accounts/${a}/d1/foo`), 404, 7000);
	});

	test('wrong method on the list route → 405 with Allow', async () => {
		const srv = h.srv;
		for (const m of ['DELETE', 'PUT', 'PATCH']) {
			const r = await srv.api(m, srv.dbPath(), m === 'DELETE' ? {} : { body: {} });
			assertErr(r, 405);
			const allow = allowSet(r);
			assert.ok(allow.has('GET') && allow.has('POST'), `Allow: ${[...allow]}`);
			assert.ok(!allow.has(m), `Allow lists ${m}: ${[...allow]}`);
		}
	});

	test('wrong method on a database → 405 with Allow', async () => {
		const srv = h.srv;
		const r = await srv.api('POST', `${srv.dbPath()}/${db.uuid}`, { body: { name: 'x' } });
		assertErr(r, 405);
		const allow = allowSet(r);
		for (const m of ['GET', 'PUT', 'PATCH', 'DELETE']) assert.ok(allow.has(m), `Allow lacks ${m}: ${[...allow]}`);
		assert.ok(!allow.has('POST'), `Allow lists POST: ${[...allow]}`);
		// and the database is untouched
		const got = assertOk(await srv.api('GET', `${srv.dbPath()}/${db.uuid}`));
		assert.equal(got.name, 'routes-db');
	});

	test('every answer is application/json with the full envelope', async () => {
		const srv = h.srv;
		const cases = [
			['GET', srv.dbPath(), {}],
			['GET', `${srv.dbPath()}/${db.uuid}`, {}],
			['GET', `${srv.dbPath()}/nope-db`, {}],
			['GET', '/nope', {}],
			['GET', srv.dbPath(), { token: null }],
			['DELETE', srv.dbPath(), {}],
			['POST', srv.dbPath(), { body: 'not json' }],
		];
		for (const [m, p, o] of cases) {
			const r = await srv.api(m, p, o);
			assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/i, `${m} ${p}`);
			assert.ok(r.json, `${m} ${p}: not JSON: ${r.text}`);
			for (const k of ['result', 'success', 'errors', 'messages']) assert.ok(k in r.json, `${m} ${p}: no ${k}: ${r.text}`);
			assert.ok(Array.isArray(r.json.errors) && Array.isArray(r.json.messages));
			if (r.status < 400) {
				assert.equal(r.json.success, true);
				assert.deepEqual(r.json.errors, []);
			} else {
				assert.equal(r.json.success, false);
				assert.ok(r.json.errors.length > 0);
				for (const e of r.json.errors) {
					assert.equal(typeof e.code, 'number', r.text);
					assert.equal(typeof e.message, 'string', r.text);
					assert.ok(e.message.length > 0, r.text);
				}
			}
		}
	});

	test('every request is logged on stderr with method, path and status', async () => {
		const srv = h.srv;
		const p1 = `/client/v4/accounts/${srv.account.id}/d1/database/${db.uuid}`;
		assertOk(await srv.api('GET', `${srv.dbPath()}/${db.uuid}`));
		const p2 = '/client/v4/logging-probe-route';
		assertErr(await srv.api('GET', '/logging-probe-route'), 404, 7000);
		const p3 = `/client/v4/accounts/${srv.account.id}/d1/database`;
		assertErr(await srv.api('PATCH', srv.dbPath(), { body: {} }), 405);
		const want = [
			['GET', p1, '200'],
			['GET', p2, '404'],
			['PATCH', p3, '405'],
		];
		const hasAll = (log) => want.every(([m, p, s]) => log.split('\n').some((l) => l.includes(m) && l.includes(p) && new RegExp(`\\b${s}\\b`).test(l.replace(p, ''))));
		const ok = await srv.waitStderr(hasAll);
		assert.ok(ok, `missing log lines for ${JSON.stringify(want)} in stderr:\n${srv.stderr().slice(-3000)}`);

		// exactly one line per request
		const probe = '/client/v4/log-count-probe';
		for (let i = 0; i < 3; i++) assertErr(await srv.api('GET', '/log-count-probe'), 404, 7000);
		const count = () => srv.stderr().split('\n').filter((l) => l.includes(probe)).length;
		await srv.waitStderr(() => count() >= 3);
		await new Promise((r) => setTimeout(r, 100));
		assert.equal(count(), 3, srv.stderr().slice(-2000));
	});

	test('garbage on a raw socket does not take the server down', async () => {
		const srv = h.srv;
		const { port } = new URL(srv.url);
		for (const junk of ['\x00\x01\x02garbage\r\n\r\n', 'GET\r\n\r\n', 'GET /client/v4/nope HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n', 'NOTAMETHOD / HTTP/9.9\r\n' + 'X: ' + 'a'.repeat(70000) + '\r\n\r\n']) {
			await new Promise((resolve) => {
				const s = net.connect(Number(port), '127.0.0.1');
				s.on('error', () => resolve());
				s.on('close', () => resolve());
				s.on('data', () => {});
				s.setTimeout(3000, () => s.destroy());
				s.end(junk);
			});
		}
		// a client that connects and goes away without sending anything
		await new Promise((resolve) => {
			const s = net.connect(Number(port), '127.0.0.1', () => s.destroy());
			s.on('close', resolve);
			s.on('error', resolve);
		});
		assertOk(await srv.api('GET', srv.dbPath()));
	});

	test('pipelined HTTP/1.1 requests are answered in order on one connection', async () => {
		const srv = h.srv;
		const { port } = new URL(srv.url);
		const req = (p) => `GET /client/v4${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${srv.token}\r\n\r\n`;
		const raw = await new Promise((resolve, reject) => {
			const s = net.connect(Number(port), '127.0.0.1');
			let buf = '';
			s.setEncoding('utf8');
			s.on('error', reject);
			s.on('data', (d) => {
				buf += d;
				if ((buf.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= 3 && /"routes-db"[^]*$/.test(buf.slice(buf.lastIndexOf('HTTP/1.1')))) {
					s.destroy();
					resolve(buf);
				}
			});
			s.setTimeout(3000, () => {
				s.destroy();
				resolve(buf);
			});
			s.write(req(`${srv.dbPath()}/pipe-missing`) + req('/pipe-no-route') + req(`${srv.dbPath()}/${db.uuid}`));
		});
		const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
		assert.deepEqual(statuses, [404, 404, 200], raw);
		const codes = [...raw.matchAll(/"code":\s*(\d+)/g)].map((m) => Number(m[1]));
		assert.deepEqual(codes, [7404, 7000], raw);
	});

	test('a chunked request body is accepted', async () => {
		const srv = h.srv;
		const enc = new TextEncoder();
		const body = new ReadableStream({
			start(c) {
				c.enqueue(enc.encode('{"name":'));
				c.enqueue(enc.encode('"chunked-db"}'));
				c.close();
			},
		});
		const res = await fetch(srv.baseURL + srv.dbPath(), {
			method: 'POST',
			body,
			duplex: 'half',
			headers: { Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json' },
		});
		const text = await res.text();
		assert.equal(res.status, 200, text);
		assert.equal(JSON.parse(text).result.name, 'chunked-db');
	});

	test('many concurrent requests are all answered', async () => {
		const srv = h.srv;
		const rs = await Promise.all(Array.from({ length: 64 }, () => srv.api('GET', `${srv.dbPath()}/${db.uuid}`)));
		for (const r of rs) assert.equal(assertOk(r).uuid, db.uuid);
	});
});
