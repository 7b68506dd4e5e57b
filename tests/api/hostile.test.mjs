// Hostile and malformed input: a table of requests, each {name, request,
// expect}, that must get a clear 4xx — never a 5xx, never a hang (every
// request has a timeout), never a crash (after every row the server must
// still answer) — with the error envelope and a non-empty message wherever
// d1d itself answers (libmicrohttpd's own protocol-level refusals are HTML).
// Then slow and broken clients on raw sockets, the SQL time limit, and at the
// end: every database of the test still answers, its content is exactly what
// was seeded, and PRAGMA quick_check says ok.
//
// Requests are written byte for byte on a raw socket (node:net), so paths are
// sent unnormalized ("..", "%2e%2e", "%00") and header values can carry bytes
// that fetch() would refuse.
//
// A row's request: {method, path, auth, headers, body, chunked, raw, timeout}
//   path, auth, header values and raw may hold {A} {B} {DB} {NAME} {VICTIM}
//   {SCRATCH} {BDB} {TOK} {RO} {TOKB} {EMAIL}, or be functions of that context.
//   auth: the whole Authorization value; default "Bearer {TOK}"; null: none.
//   body: object (sent as JSON), string (UTF-8), Buffer (as is), or a
//   function returning one of those. raw: the whole request, as is.
// A row's expect: {status (number or list), code (number or list), msg
//   (RegExp), envelope (default true: the answer must be d1d's JSON error
//   envelope), allow (methods the Allow header must list)}.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import crypto from 'node:crypto';
import { useServer, assertOk, createDb } from './harness.mjs';

// libmicrohttpd 0.9.75 cuts a header value at a raw NUL while parsing, and
// reports the shortened length, so d1d cannot tell "T\0junk" from "T". The
// part before the NUL must itself be valid credentials, so nothing is
// gained by it; these rows stay as todo until the HTTP layer can see it.
const NUL_TODO = 'libmicrohttpd truncates header values at a raw NUL before d1d sees them';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const REQ_TIMEOUT_MS = 5000;
const BIG_TIMEOUT_MS = 20000;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 client

const TOKENS = /\{(A|B|DB|NAME|VICTIM|SCRATCH|BDB|TOK|RO|TOKB|EMAIL)\}/g;
function subst(v, ctx) {
	if (typeof v === 'function') return v(ctx);
	if (typeof v === 'string') return v.replace(TOKENS, (_, k) => ctx[k]);
	return v;
}

/** UTF-8 bytes of s as a latin1 string (header text is written as latin1). */
const utf8 = (s) => Buffer.from(s, 'utf8').toString('latin1');

function bodyBytes(body, ctx) {
	const b = typeof body === 'function' ? body(ctx) : body;
	if (b === undefined) return undefined;
	if (Buffer.isBuffer(b)) return b;
	if (typeof b === 'string') return Buffer.from(b, 'utf8');
	return Buffer.from(JSON.stringify(b), 'utf8');
}

/** The request's bytes. */
function build(rq, ctx) {
	if (rq.raw !== undefined) {
		const r = subst(rq.raw, ctx);
		return Buffer.isBuffer(r) ? r : Buffer.from(r, 'latin1');
	}
	const body = bodyBytes(rq.body, ctx);
	const method = rq.method ?? (body !== undefined ? 'POST' : 'GET');
	const lines = [`${method} ${subst(rq.path, ctx)} HTTP/1.1`, `Host: 127.0.0.1:${ctx.PORT}`, 'Connection: close'];
	const auth = 'auth' in rq ? rq.auth : 'Bearer {TOK}';
	if (auth != null) lines.push(`Authorization: ${subst(auth, ctx)}`);
	const headers = Array.isArray(rq.headers) ? rq.headers : Object.entries(rq.headers ?? {});
	for (const [k, v] of headers) lines.push(`${k}: ${subst(v, ctx)}`);
	if (body !== undefined) {
		if (!headers.some(([k]) => k.toLowerCase() === 'content-type')) lines.push('Content-Type: application/json');
		if (rq.chunked) lines.push('Transfer-Encoding: chunked');
		else lines.push(`Content-Length: ${body.length}`);
	}
	const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
	if (body === undefined) return head;
	if (!rq.chunked) return Buffer.concat([head, body]);
	const parts = [head];
	for (let off = 0; off < body.length; off += MiB) {
		const c = body.subarray(off, off + MiB);
		parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
	}
	parts.push(Buffer.from('0\r\n\r\n'));
	return Buffer.concat(parts);
}

/** Give a plain header object the .get() of fetch's Headers (assertOk uses it). */
function withGet(headers) {
	Object.defineProperty(headers, 'get', { value: (k) => headers[k.toLowerCase()] ?? null, enumerable: false });
	return headers;
}

/** Parse one HTTP response out of buf: {status, headers, body, text, json}. */
function parseResponse(buf) {
	const end = buf.indexOf('\r\n\r\n');
	if (end < 0) return null;
	const head = buf.subarray(0, end).toString('latin1').split('\r\n');
	const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
	if (!m) return null;
	const headers = {};
	for (const line of head.slice(1)) {
		const i = line.indexOf(':');
		if (i < 0) continue;
		const k = line.slice(0, i).trim().toLowerCase();
		const v = line.slice(i + 1).trim();
		headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
	}
	withGet(headers);
	let body = buf.subarray(end + 4);
	if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
		const out = [];
		let p = 0;
		for (;;) {
			const nl = body.indexOf('\r\n', p);
			if (nl < 0) break;
			const n = parseInt(body.subarray(p, nl).toString('latin1'), 16);
			if (!(n > 0)) break;
			out.push(body.subarray(nl + 2, nl + 2 + n));
			p = nl + 2 + n + 2;
		}
		body = Buffer.concat(out);
	} else if (headers['content-length'] != null) {
		body = body.subarray(0, Number(headers['content-length']));
	}
	const text = body.toString('utf8');
	let json;
	try {
		json = JSON.parse(text);
	} catch {
		json = undefined;
	}
	return { status: Number(m[1]), headers, body, text, json };
}

/**
 * Send bytes on a fresh connection and read the answer until the server
 * closes (every built request says Connection: close). Rejects if nothing
 * complete arrives within timeout ms: a hang.
 */
function send(port, bytes, { timeout = REQ_TIMEOUT_MS } = {}) {
	return new Promise((resolve, reject) => {
		const s = net.connect(port, '127.0.0.1');
		const chunks = [];
		let sockErr = null;
		let settled = false;
		const finish = (fn) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			s.destroy();
			fn();
		};
		const timer = setTimeout(() => {
			const res = parseResponse(Buffer.concat(chunks));
			finish(() => reject(new Error(`no complete answer within ${timeout} ms (a hang)${res ? `; partial: HTTP ${res.status}` : ''}`)));
		}, timeout);
		s.on('data', (d) => chunks.push(d));
		s.on('error', (e) => (sockErr = e));
		s.on('close', () => {
			const res = parseResponse(Buffer.concat(chunks));
			if (res) finish(() => resolve(res));
			else finish(() => reject(new Error(`connection closed without an answer${sockErr ? ` (${sockErr.code ?? sockErr.message})` : ''}`)));
		});
		s.write(bytes);
	});
}

/** The same through node:http, for header values only Node can judge. */
function sendNodeHttp(port, { method = 'GET', path, headers }) {
	return new Promise((resolve, reject) => {
		let req;
		try {
			req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false });
		} catch (e) {
			reject(e);
			return;
		}
		req.setTimeout(REQ_TIMEOUT_MS, () => req.destroy(new Error('no answer (a hang)')));
		req.on('error', reject);
		req.on('response', (res) => {
			const chunks = [];
			res.on('data', (d) => chunks.push(d));
			res.on('end', () => {
				const body = Buffer.concat(chunks);
				const text = body.toString('utf8');
				let json;
				try {
					json = JSON.parse(text);
				} catch {
					json = undefined;
				}
				resolve({ status: res.statusCode, headers: withGet({ ...res.headers }), body, text, json });
			});
		});
		req.end();
	});
}

function describeRes(res) {
	const t = res.text.length > 600 ? res.text.slice(0, 600) + '…' : res.text;
	return `HTTP ${res.status} ${res.headers['content-type'] ?? '(no content-type)'} ${t}`;
}

/** Check a hostile row's answer against its expectation. */
function assertRejected(res, exp, method) {
	const statuses = [].concat(exp.status);
	assert.ok(res.status < 500, `a 5xx for hostile input: ${describeRes(res)}`);
	assert.ok(res.status >= 400, `accepted (not a 4xx): ${describeRes(res)}`);
	assert.ok(statuses.includes(res.status), `expected HTTP ${statuses.join(' or ')}, got ${describeRes(res)}`);
	const isJson = /^application\/json\b/i.test(res.headers['content-type'] ?? '');
	const hasBody = method !== 'HEAD' && res.body.length > 0;
	if (exp.envelope !== false || (isJson && hasBody)) {
		assert.ok(isJson, `Content-Type is not application/json: ${describeRes(res)}`);
		assert.ok(res.json && typeof res.json === 'object', `not JSON: ${describeRes(res)}`);
		assert.equal(res.json.success, false, describeRes(res));
		assert.ok('result' in res.json && Array.isArray(res.json.messages), `not the envelope: ${describeRes(res)}`);
		assert.ok(Array.isArray(res.json.errors) && res.json.errors.length >= 1, `no errors: ${describeRes(res)}`);
		const e = res.json.errors[0];
		assert.equal(typeof e.message, 'string', describeRes(res));
		assert.ok(e.message.trim().length > 0, `empty message: ${describeRes(res)}`);
		if (exp.code != null) assert.ok([].concat(exp.code).includes(e.code), `expected code ${exp.code}, got ${describeRes(res)}`);
		if (exp.msg) assert.match(e.message, exp.msg, describeRes(res));
	}
	if (exp.allow) {
		const allow = new Set((res.headers.allow ?? '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean));
		for (const m of exp.allow) assert.ok(allow.has(m), `Allow "${res.headers.allow}" lacks ${m}`);
		if (method) assert.ok(!allow.has(method.toUpperCase()), `Allow "${res.headers.allow}" lists ${method}`);
	}
}

// ---------------------------------------------------------------------------
// The table

const L = '/client/v4/accounts/{A}/d1/database';
const D = `${L}/{DB}`;
const Q = `${D}/query`;
const R = `${D}/raw`;
const G = '/client/v4/graphql';

const BAD_JSON = { status: 400, code: 7400, msg: /Malformed JSON/ };
const BAD_REQ = { status: 400, code: 7400 };
const SQL_ERR = { status: 400, code: 7500, msg: /: SQLITE_[A-Z]+$|\.$/ };
const SQL_AUTH = { status: 400, code: 7500, msg: /not authorized.*: SQLITE_AUTH$/ };
const SQL_TOOBIG = { status: 400, code: 7500, msg: /too big|too long|SQLITE_TOOBIG/ };
const SQL_TX = { status: 400, code: 7500, msg: /BEGIN, COMMIT.*SQLITE_AUTH$/ };
const NO_ROUTE = { status: 404, code: 7000 };
const NO_DB = { status: 404, code: 7404 };
const BAD_DBREF = { status: 400, code: 7400, msg: /databaseId/ };
const FOREIGN = { status: 403, code: 7403 };
const TOO_LARGE = { status: 413, code: 7400, msg: /too large/i };
const NO_AUTH = { status: 401, code: 10000 };
const BAD_TOKEN = { status: 401, code: 9109 };
const RO_WRITE = { status: 403, code: 10000 };
const PROTO = (status) => ({ status, envelope: false }); // libmicrohttpd's own refusal

const q = (sql, params) => ({ path: Q, body: params === undefined ? { sql } : { sql, params } });
const nest = (open, close, n, inner = '1') => open.repeat(n) + inner + close.repeat(n);
const hugeBody = (prefix, suffix, total) => () => prefix + 'a'.repeat(total - prefix.length - suffix.length) + suffix;
const cols = (n) => Array.from({ length: n }, (_, i) => `c${i}`);

const JSON_ROWS = [
	// syntax
	{ name: 'create: invalid JSON (unquoted key)', request: { path: L, body: '{name: "x"}' }, expect: BAD_JSON },
	{ name: 'create: truncated JSON', request: { path: L, body: '{"name":"trunc' }, expect: BAD_JSON },
	{ name: 'create: truncated after a key', request: { path: L, body: '{"name":' }, expect: BAD_JSON },
	{ name: 'create: two concatenated objects', request: { path: L, body: '{"name":"x1"} {"name":"x2"}' }, expect: BAD_JSON },
	{ name: 'create: trailing comma', request: { path: L, body: '{"name":"x",}' }, expect: BAD_JSON },
	{ name: 'create: single quotes', request: { path: L, body: "{'name':'x'}" }, expect: BAD_JSON },
	{ name: 'create: 100000 levels of [', request: { path: L, body: '['.repeat(100000) }, expect: BAD_JSON },
	{ name: 'create: 100000 levels of {"a":', request: { path: L, body: '{"a":'.repeat(100000) }, expect: BAD_JSON },
	{ name: 'create: balanced 100000-deep arrays', request: { path: L, body: () => nest('[', ']', 100000) }, expect: BAD_JSON },
	{ name: 'query: params nested 100000 deep', request: { path: Q, body: () => `{"sql":"SELECT ?","params":${nest('[', ']', 100000)}}` }, expect: BAD_JSON },
	{ name: 'query: batch item nested 50000 objects deep', request: { path: Q, body: () => `{"batch":[${nest('{"x":', '}', 50000)}]}` }, expect: BAD_JSON },
	{ name: 'PATCH: read_replication nested 10000 deep', request: { method: 'PATCH', path: D, body: () => `{"read_replication":${nest('{"mode":', '}', 10000, '"auto"')}}` }, expect: BAD_JSON },
	// numbers
	{ name: 'query: param 1e999', request: { path: Q, body: '{"sql":"SELECT ?","params":[1e999]}' }, expect: BAD_JSON },
	{ name: 'query: param -1e999', request: { path: Q, body: '{"sql":"SELECT ?","params":[-1e999]}' }, expect: BAD_JSON },
	{ name: 'query: param 2^64', request: { path: Q, body: '{"sql":"SELECT ?","params":[18446744073709551616]}' }, expect: BAD_JSON },
	{ name: 'query: param -2^63-1', request: { path: Q, body: '{"sql":"SELECT ?","params":[-9223372036854775809]}' }, expect: BAD_JSON },
	{ name: 'query: param with 400 digits', request: { path: Q, body: `{"sql":"SELECT ?","params":[${'9'.repeat(400)}]}` }, expect: BAD_JSON },
	{ name: 'query: param NaN', request: { path: Q, body: '{"sql":"SELECT ?","params":[NaN]}' }, expect: BAD_JSON },
	{ name: 'query: param Infinity', request: { path: Q, body: '{"sql":"SELECT ?","params":[Infinity]}' }, expect: BAD_JSON },
	{ name: 'create: name 1e999', request: { path: L, body: '{"name":1e999}' }, expect: BAD_JSON },
	{ name: 'create: name 2^64', request: { path: L, body: '{"name":18446744073709551616}' }, expect: BAD_JSON },
	// duplicate keys
	{ name: 'query: duplicate sql keys', request: { path: Q, body: '{"sql":"SELECT 1","sql":"DELETE FROM seed"}' }, expect: BAD_JSON },
	{ name: 'query: duplicate params keys', request: { path: Q, body: '{"sql":"SELECT ?","params":[1],"params":[2]}' }, expect: BAD_JSON },
	{ name: 'query: duplicate keys in a batch item', request: { path: Q, body: '{"batch":[{"sql":"SELECT 1","sql":"DELETE FROM seed"}]}' }, expect: BAD_JSON },
	{ name: 'create: duplicate name keys', request: { path: L, body: '{"name":"dup-a","name":"dup-b"}' }, expect: BAD_JSON },
	{ name: 'PATCH: duplicate read_replication keys', request: { method: 'PATCH', path: D, body: '{"read_replication":{"mode":"auto"},"read_replication":{"mode":"disabled"}}' }, expect: BAD_JSON },
	{ name: 'PUT: duplicate mode keys', request: { method: 'PUT', path: D, body: '{"read_replication":{"mode":"auto","mode":"disabled"}}' }, expect: BAD_JSON },
	// non-object top level
	{ name: 'create: top-level string', request: { path: L, body: '"hostile"' }, expect: BAD_REQ },
	{ name: 'create: top-level number', request: { path: L, body: '42' }, expect: BAD_REQ },
	{ name: 'create: top-level null', request: { path: L, body: 'null' }, expect: BAD_REQ },
	{ name: 'create: top-level true', request: { path: L, body: 'true' }, expect: BAD_REQ },
	{ name: 'create: top-level array', request: { path: L, body: '[{"name":"x"}]' }, expect: BAD_REQ },
	{ name: 'query: top-level array of statements', request: { path: Q, body: '[{"sql":"SELECT 1"}]' }, expect: BAD_REQ },
	{ name: 'query: top-level null', request: { path: Q, body: 'null' }, expect: BAD_REQ },
	{ name: 'query: top-level SQL string', request: { path: Q, body: '"SELECT 1"' }, expect: BAD_REQ },
	{ name: 'raw: top-level number', request: { path: R, body: '1' }, expect: BAD_REQ },
	{ name: 'PUT: top-level array', request: { method: 'PUT', path: D, body: '[]' }, expect: BAD_REQ },
	{ name: 'PATCH: top-level null', request: { method: 'PATCH', path: D, body: 'null' }, expect: BAD_REQ },
	// wrong types: create
	{ name: 'create: name is a number', request: { path: L, body: { name: 123 } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name is null', request: { path: L, body: { name: null } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name is true', request: { path: L, body: { name: true } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name is an array', request: { path: L, body: { name: ['x'] } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name is an object', request: { path: L, body: { name: { x: 1 } } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name missing', request: { path: L, body: {} }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name empty', request: { path: L, body: { name: '' } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name with a space', request: { path: L, body: { name: 'a b' } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name "../x"', request: { path: L, body: { name: '../x' } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name ".."', request: { path: L, body: { name: '..' } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name shaped like a uuid', request: { path: L, body: { name: '00000000-0000-4000-8000-000000000000' } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name of 65 characters', request: { path: L, body: { name: 'n'.repeat(65) } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name of 10000 characters', request: { path: L, body: { name: 'n'.repeat(10000) } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: name with non-ASCII letters', request: { path: L, body: { name: 'dätenbank☃' } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'create: jurisdiction is a number', request: { path: L, body: { name: 'jx1', jurisdiction: 1 } }, expect: { ...BAD_REQ, msg: /jurisdiction/ } },
	{ name: 'create: jurisdiction "mars"', request: { path: L, body: { name: 'jx2', jurisdiction: 'mars' } }, expect: { ...BAD_REQ, msg: /jurisdiction/ } },
	{ name: 'create: jurisdiction of 10000 characters', request: { path: L, body: { name: 'jx3', jurisdiction: 'e'.repeat(10000) } }, expect: { ...BAD_REQ, msg: /jurisdiction/ } },
	{ name: 'create: primary_location_hint is an array', request: { path: L, body: { name: 'jx4', primary_location_hint: ['weur'] } }, expect: { ...BAD_REQ, msg: /primary_location_hint/ } },
	{ name: 'create: primary_location_hint "moon"', request: { path: L, body: { name: 'jx5', primary_location_hint: 'moon' } }, expect: { ...BAD_REQ, msg: /primary_location_hint/ } },
	{ name: 'create: unknown field', request: { path: L, body: { name: 'jx6', uuid: '00000000-0000-4000-8000-000000000000' } }, expect: { ...BAD_REQ, msg: /uuid/ } },
	{ name: 'create: unknown field with a 10000-character key', request: { path: L, body: { name: 'jx7', ['k'.repeat(10000)]: 1 } }, expect: { ...BAD_REQ, msg: /unknown field/ } },
	// wrong types: PUT and PATCH
	{ name: 'PUT: empty object (read_replication required)', request: { method: 'PUT', path: D, body: {} }, expect: { ...BAD_REQ, msg: /read_replication/ } },
	{ name: 'PUT: read_replication is a string', request: { method: 'PUT', path: D, body: { read_replication: 'auto' } }, expect: { ...BAD_REQ, msg: /read_replication/ } },
	{ name: 'PUT: read_replication is null', request: { method: 'PUT', path: D, body: { read_replication: null } }, expect: { ...BAD_REQ, msg: /read_replication/ } },
	{ name: 'PUT: mode is a number', request: { method: 'PUT', path: D, body: { read_replication: { mode: 1 } } }, expect: { ...BAD_REQ, msg: /mode/ } },
	{ name: 'PUT: mode "everywhere"', request: { method: 'PUT', path: D, body: { read_replication: { mode: 'everywhere' } } }, expect: { ...BAD_REQ, msg: /mode/ } },
	{ name: 'PUT: unknown field inside read_replication', request: { method: 'PUT', path: D, body: { read_replication: { mode: 'auto', regions: ['weur'] } } }, expect: { ...BAD_REQ, msg: /regions/ } },
	{ name: 'PUT: rename attempt', request: { method: 'PUT', path: D, body: { read_replication: { mode: 'disabled' }, name: 'renamed' } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'PATCH: read_replication is an array', request: { method: 'PATCH', path: D, body: { read_replication: [] } }, expect: { ...BAD_REQ, msg: /read_replication/ } },
	{ name: 'PATCH: mode is null', request: { method: 'PATCH', path: D, body: { read_replication: { mode: null } } }, expect: { ...BAD_REQ, msg: /mode/ } },
	{ name: 'PATCH: read_replication is {}', request: { method: 'PATCH', path: D, body: { read_replication: {} } }, expect: { ...BAD_REQ, msg: /mode/ } },
	{ name: 'PATCH: rename attempt', request: { method: 'PATCH', path: D, body: { name: 'renamed' } }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'PATCH: uuid change attempt', request: { method: 'PATCH', path: D, body: { uuid: '00000000-0000-4000-8000-000000000000' } }, expect: { ...BAD_REQ, msg: /uuid/ } },
	// wrong types: query and raw
	{ name: 'query: sql is a number', request: { path: Q, body: { sql: 1 } }, expect: { ...BAD_REQ, msg: /sql/ } },
	{ name: 'query: sql is null', request: { path: Q, body: { sql: null } }, expect: { ...BAD_REQ, msg: /sql/ } },
	{ name: 'query: sql is an array', request: { path: Q, body: { sql: ['SELECT 1'] } }, expect: { ...BAD_REQ, msg: /sql/ } },
	{ name: 'query: sql is an object', request: { path: Q, body: { sql: { text: 'SELECT 1' } } }, expect: { ...BAD_REQ, msg: /sql/ } },
	{ name: 'query: sql is true', request: { path: Q, body: { sql: true } }, expect: { ...BAD_REQ, msg: /sql/ } },
	{ name: 'query: sql missing', request: { path: Q, body: { params: [] } }, expect: { ...BAD_REQ, msg: /sql/ } },
	{ name: 'query: sql empty', request: { path: Q, body: { sql: '' } }, expect: { ...BAD_REQ, msg: /sql/ } },
	{ name: 'query: sql only semicolons and blanks', request: { path: Q, body: { sql: ' ;\n;\t; ' } }, expect: { ...BAD_REQ, msg: /sql/ } },
	{ name: 'query: params is a string', request: { path: Q, body: { sql: 'SELECT ?', params: '1' } }, expect: { ...BAD_REQ, msg: /params/ } },
	{ name: 'query: params is an object', request: { path: Q, body: { sql: 'SELECT ?', params: { 1: 1 } } }, expect: { ...BAD_REQ, msg: /params/ } },
	{ name: 'query: params is a number', request: { path: Q, body: { sql: 'SELECT ?', params: 1 } }, expect: { ...BAD_REQ, msg: /params/ } },
	{ name: 'query: a param is an array', request: { path: Q, body: { sql: 'SELECT ?', params: [[1]] } }, expect: { ...BAD_REQ, msg: /params\[0\]/ } },
	{ name: 'query: a param is an object', request: { path: Q, body: { sql: 'SELECT ?', params: [{ $: 1 }] } }, expect: { ...BAD_REQ, msg: /params\[0\]/ } },
	{ name: 'query: batch is an object', request: { path: Q, body: { batch: { sql: 'SELECT 1' } } }, expect: { ...BAD_REQ, msg: /batch/ } },
	{ name: 'query: batch is empty', request: { path: Q, body: { batch: [] } }, expect: { ...BAD_REQ, msg: /batch/ } },
	{ name: 'query: batch is a string', request: { path: Q, body: { batch: 'SELECT 1' } }, expect: { ...BAD_REQ, msg: /batch/ } },
	{ name: 'query: batch item is a number', request: { path: Q, body: { batch: [1] } }, expect: { ...BAD_REQ, msg: /batch\[0\]/ } },
	{ name: 'query: batch item is null', request: { path: Q, body: { batch: [{ sql: 'SELECT 1' }, null] } }, expect: { ...BAD_REQ, msg: /batch\[1\]/ } },
	{ name: 'query: batch item sql is a number', request: { path: Q, body: { batch: [{ sql: 1 }] } }, expect: { ...BAD_REQ, msg: /batch\[0\]\.sql/ } },
	{ name: 'query: batch item params is an object', request: { path: Q, body: { batch: [{ sql: 'SELECT ?', params: { a: 1 } }] } }, expect: { ...BAD_REQ, msg: /batch\[0\]\.params/ } },
	{ name: 'query: batch item unknown field', request: { path: Q, body: { batch: [{ sql: 'SELECT 1', mode: 'x' }] } }, expect: { ...BAD_REQ, msg: /mode/ } },
	{ name: 'query: batch and sql together', request: { path: Q, body: { batch: [{ sql: 'SELECT 1' }], sql: 'DELETE FROM seed' } }, expect: BAD_REQ },
	{ name: 'query: unknown top-level field', request: { path: Q, body: { sql: 'SELECT 1', database: 'other' } }, expect: { ...BAD_REQ, msg: /database/ } },
	{ name: 'raw: sql is a number', request: { path: R, body: { sql: 7 } }, expect: { ...BAD_REQ, msg: /sql/ } },
	{ name: 'raw: params is a string', request: { path: R, body: { sql: 'SELECT ?', params: 'x' } }, expect: { ...BAD_REQ, msg: /params/ } },
	// NUL bytes
	{ name: 'create: \\u0000 in the name', request: { path: L, body: '{"name":"main\\u0000x"}' }, expect: BAD_JSON },
	{ name: 'query: \\u0000 in the SQL', request: { path: Q, body: '{"sql":"SELECT 1\\u0000; DELETE FROM seed"}' }, expect: BAD_JSON },
	{ name: 'query: \\u0000 in a param', request: { path: Q, body: '{"sql":"SELECT ?","params":["a\\u0000b"]}' }, expect: BAD_JSON },
	{ name: 'query: \\u0000 in a key', request: { path: Q, body: '{"sql\\u0000x":"SELECT 1"}' }, expect: BAD_JSON },
	{ name: 'query: raw NUL byte inside the SQL string', request: { path: Q, body: Buffer.from('{"sql":"SELECT 1\x00; DELETE FROM seed"}', 'latin1') }, expect: BAD_JSON },
	{ name: 'create: raw NUL byte before the body', request: { path: L, body: Buffer.from('\x00{"name":"nul"}', 'latin1') }, expect: BAD_JSON },
	// bad UTF-8
	{ name: 'create: name with bytes FF FE', request: { path: L, body: Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]) }, expect: BAD_JSON },
	{ name: 'create: name with an overlong "/" (C0 AF)', request: { path: L, body: Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]) }, expect: BAD_JSON },
	{ name: 'create: name with a truncated sequence (E2 82)', request: { path: L, body: Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]) }, expect: BAD_JSON },
	{ name: 'create: name with a UTF-8-encoded surrogate (ED A0 80)', request: { path: L, body: Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]) }, expect: BAD_JSON },
	{ name: 'create: name with a lone \\ud800 escape', request: { path: L, body: '{"name":"a\\ud800"}' }, expect: BAD_JSON },
	{ name: 'query: SQL with byte FF', request: { path: Q, body: Buffer.concat([Buffer.from("{\"sql\":\"SELECT '"), Buffer.from([0xff]), Buffer.from("'\"}")]) }, expect: BAD_JSON },
	{ name: 'query: param with a 5-byte sequence (F8 88 80 80 80)', request: { path: Q, body: Buffer.concat([Buffer.from('{"sql":"SELECT ?","params":["'), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from('"]}')]) }, expect: BAD_JSON },
	{ name: 'query: key with byte 80', request: { path: Q, body: Buffer.concat([Buffer.from('{"sql'), Buffer.from([0x80]), Buffer.from('":"SELECT 1"}')]) }, expect: BAD_JSON },
	{ name: 'query: UTF-16LE body', request: { path: Q, body: Buffer.from('{"sql":"SELECT 1"}', 'utf16le') }, expect: BAD_JSON },
	// empty bodies
	{ name: 'create: empty body', request: { path: L, body: '' }, expect: BAD_REQ },
	{ name: 'query: empty body', request: { path: Q, body: '' }, expect: BAD_REQ },
	{ name: 'raw: empty body', request: { path: R, body: '' }, expect: BAD_REQ },
	{ name: 'PUT: empty body', request: { method: 'PUT', path: D, body: '' }, expect: BAD_REQ },
	{ name: 'query: no body at all', request: { method: 'POST', path: Q }, expect: BAD_REQ },
	{ name: 'query: body of blanks only', request: { path: Q, body: ' \r\n\t ' }, expect: BAD_JSON },
	// bodies over 10 MiB
	{ name: 'create: body of 10 MiB + 1', request: { path: L, body: hugeBody('{"name":"', '"}', 10 * MiB + 1), timeout: BIG_TIMEOUT_MS }, expect: TOO_LARGE },
	{ name: 'query: body of 11 MiB', request: { path: Q, body: hugeBody('{"sql":"SELECT \'', '\'"}', 11 * MiB), timeout: BIG_TIMEOUT_MS }, expect: TOO_LARGE },
	{ name: 'raw: chunked body of 11 MiB (no Content-Length)', request: { path: R, chunked: true, body: hugeBody('{"sql":"SELECT \'', '\'"}', 11 * MiB), timeout: BIG_TIMEOUT_MS }, expect: TOO_LARGE },
	{ name: 'graphql: body of 11 MiB', request: { path: G, body: hugeBody('{"query":"', '"}', 11 * MiB), timeout: BIG_TIMEOUT_MS }, expect: TOO_LARGE },
	{ name: 'PATCH: body of 10 MiB + 1 without a token', request: { method: 'PATCH', path: D, auth: null, body: hugeBody('{"read_replication":{"mode":"', '"}}', 10 * MiB + 1), timeout: BIG_TIMEOUT_MS }, expect: { status: [413, 401] } },
	// graphql is a stub, but a body that is not JSON is still malformed
	{ name: 'graphql: malformed JSON body', request: { path: G, body: '{"query": ' }, expect: BAD_JSON },
];

const PATH_ROWS = [
	// account ids
	{ name: 'account id "x"', request: { path: '/client/v4/accounts/x/d1/database' }, expect: FOREIGN },
	{ name: 'account id of 31 hex digits', request: { path: (c) => `/client/v4/accounts/${c.A.slice(1)}/d1/database` }, expect: FOREIGN },
	{ name: 'account id of 33 hex digits', request: { path: (c) => `/client/v4/accounts/${c.A}0/d1/database` }, expect: FOREIGN },
	{ name: 'account id in upper case', request: { path: (c) => `/client/v4/accounts/${c.A.toUpperCase()}/d1/database` }, expect: FOREIGN },
	{ name: 'account id of 4096 characters', request: { path: `/client/v4/accounts/${'a'.repeat(4096)}/d1/database` }, expect: FOREIGN },
	{ name: 'account id of 100000 characters (URI too long)', request: { path: `/client/v4/accounts/${'a'.repeat(100000)}/d1/database` }, expect: PROTO([414, 431]) },
	{ name: 'account id ".."', request: { path: '/client/v4/accounts/../d1/database' }, expect: FOREIGN },
	{ name: 'account id "%2e%2e"', request: { path: '/client/v4/accounts/%2e%2e/d1/database' }, expect: FOREIGN },
	{ name: 'account id with %00 appended', request: { path: '/client/v4/accounts/{A}%00/d1/database' }, expect: { status: [400, 403, 404] } },
	{ name: 'account id "*"', request: { path: '/client/v4/accounts/*/d1/database' }, expect: FOREIGN },
	{ name: "another account's list with my token", request: { path: '/client/v4/accounts/{B}/d1/database' }, expect: FOREIGN },
	{ name: "another account's database with my token", request: { path: '/client/v4/accounts/{B}/d1/database/{BDB}' }, expect: FOREIGN },
	{ name: "query on another account's database with my token", request: { path: '/client/v4/accounts/{B}/d1/database/{BDB}/query', body: { sql: 'DELETE FROM seed' } }, expect: FOREIGN },
	{ name: "delete another account's database with my token", request: { method: 'DELETE', path: '/client/v4/accounts/{B}/d1/database/{BDB}' }, expect: FOREIGN },
	{ name: "another account's database through my account path", request: { path: `${L}/{BDB}` }, expect: NO_DB },
	// database ids
	{ name: 'database id ".."', request: { path: `${L}/..` }, expect: BAD_DBREF },
	{ name: 'database id "%2e%2e"', request: { path: `${L}/%2e%2e` }, expect: BAD_DBREF },
	{ name: 'database id "%2E%2E" on /query', request: { path: `${L}/%2E%2E/query`, body: { sql: 'SELECT 1' } }, expect: BAD_DBREF },
	{ name: 'database id ".%2e" on DELETE', request: { method: 'DELETE', path: `${L}/.%2e` }, expect: BAD_DBREF },
	{ name: 'database id "..%2F..%2Fcatalog.sqlite"', request: { path: `${L}/..%2F..%2Fcatalog.sqlite` }, expect: { status: [400, 404] } },
	{ name: 'database id "..%5c..%5ccatalog.sqlite"', request: { path: `${L}/..%5c..%5ccatalog.sqlite` }, expect: BAD_DBREF },
	{ name: 'database id literal ../../ path', request: { path: `${L}/../../../../etc/passwd` }, expect: { status: [400, 404] } },
	{ name: 'database id "%2F" only', request: { path: `${L}/%2F` }, expect: { status: [400, 404] } },
	{ name: 'database id "{NAME}%2Fquery" (an encoded slash is not a separator)', request: { path: `${L}/{NAME}%2Fquery`, body: { sql: 'SELECT 1' } }, expect: { status: [400, 404, 405] } }, // a POST to a database path: 405
	{ name: 'database id "{NAME}%00junk" (encoded NUL)', request: { path: `${L}/{NAME}%00junk` }, expect: BAD_DBREF },
	{ name: 'database id "%00" alone', request: { path: `${L}/%00` }, expect: BAD_DBREF },
	{ name: 'database id "%00{NAME}"', request: { path: `${L}/%00{NAME}` }, expect: { status: [400, 404] } },
	{ name: 'PATCH database "{VICTIM}%00x" (encoded NUL)', request: { method: 'PATCH', path: `${L}/{VICTIM}%00x`, body: { read_replication: { mode: 'auto' } } }, expect: BAD_DBREF },
	{ name: 'DELETE database "{VICTIM}%00x" (encoded NUL)', request: { method: 'DELETE', path: `${L}/{VICTIM}%00x` }, expect: BAD_DBREF },
	{ name: 'database id with a space', request: { path: `${L}/a%20b` }, expect: BAD_DBREF },
	{ name: 'database id with HTML', request: { path: `${L}/%3Cscript%3Ealert(1)%3C%2Fscript%3E` }, expect: { status: [400, 404] } },
	{ name: 'database id with SQL', request: { path: `${L}/x'%20OR%20'1'='1` }, expect: BAD_DBREF },
	{ name: 'database id with bytes %ff%fe', request: { path: `${L}/%ff%fe` }, expect: BAD_DBREF },
	{ name: 'database id with a lone "%"', request: { path: `${L}/%` }, expect: BAD_DBREF },
	{ name: 'database id of 65 characters', request: { path: `${L}/${'d'.repeat(65)}` }, expect: BAD_DBREF },
	{ name: 'database id of 10000 characters', request: { path: `${L}/${'d'.repeat(10000)}` }, expect: BAD_DBREF },
	{ name: 'database id: a uuid that does not exist', request: { path: `${L}/00000000-0000-4000-8000-000000000000` }, expect: NO_DB },
	{ name: 'database id: a uuid with a trailing space', request: { path: `${D}%20` }, expect: BAD_DBREF },
	{ name: 'database id: a uuid with a trailing tab', request: { path: `${D}%09` }, expect: BAD_DBREF },
	{ name: 'database id: a uuid without dashes', request: { path: (c) => `/client/v4/accounts/${c.A}/d1/database/${c.DB.replaceAll('-', '')}` }, expect: { status: [400, 404] } },
	// query strings
	{ name: 'list: page=1&page=2 (ambiguous)', request: { path: `${L}?page=1&page=2` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: per_page=10&per_page=20 (ambiguous)', request: { path: `${L}?per_page=10&per_page=20` }, expect: { ...BAD_REQ, msg: /per_page/ } },
	{ name: 'list: name=a&name=b (ambiguous)', request: { path: `${L}?name=a&name=b` }, expect: { ...BAD_REQ, msg: /name/ } },
	{ name: 'list: page given three times, one empty', request: { path: `${L}?page=1&page=&page=1` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: page=0', request: { path: `${L}?page=0` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: page=-1', request: { path: `${L}?page=-1` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: page=abc', request: { path: `${L}?page=abc` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: page=1e3', request: { path: `${L}?page=1e3` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: page=0x10', request: { path: `${L}?page=0x10` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: page=99999999999999999999999', request: { path: `${L}?page=99999999999999999999999` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: page=1000000001', request: { path: `${L}?page=1000000001` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: page= (empty)', request: { path: `${L}?page=` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: page=%00', request: { path: `${L}?page=%001` }, expect: { ...BAD_REQ, msg: /page/ } },
	{ name: 'list: per_page=0', request: { path: `${L}?per_page=0` }, expect: { ...BAD_REQ, msg: /per_page/ } },
	{ name: 'list: per_page=-5', request: { path: `${L}?per_page=-5` }, expect: { ...BAD_REQ, msg: /per_page/ } },
	{ name: 'list: per_page=10001', request: { path: `${L}?per_page=10001` }, expect: { ...BAD_REQ, msg: /per_page/ } },
	{ name: 'list: per_page=18446744073709551616', request: { path: `${L}?per_page=18446744073709551616` }, expect: { ...BAD_REQ, msg: /per_page/ } },
	{ name: 'list: per_page=1.5', request: { path: `${L}?per_page=1.5` }, expect: { ...BAD_REQ, msg: /per_page/ } },
	{ name: 'list: per_page=ten', request: { path: `${L}?per_page=ten` }, expect: { ...BAD_REQ, msg: /per_page/ } },
	{ name: 'get: fields=password', request: { path: `${D}?fields=password` }, expect: { ...BAD_REQ, msg: /fields/ } },
	{ name: 'get: fields of 10000 characters', request: { path: `${D}?fields=${'f'.repeat(10000)}` }, expect: { ...BAD_REQ, msg: /fields/ } },
	// unknown routes
	{ name: 'route: /client/v4/', request: { path: '/client/v4/' }, expect: NO_ROUTE },
	{ name: 'route: /client/v3/...', request: { path: '/client/v3/accounts/{A}/d1/database' }, expect: NO_ROUTE },
	{ name: 'route: /', request: { path: '/' }, expect: NO_ROUTE },
	{ name: 'route: *', request: { path: '*' }, expect: NO_ROUTE },
	{ name: 'route: absolute-form URL to another host', request: { path: 'http://evil.example/client/v4/graphql', body: {} }, expect: NO_ROUTE },
	{ name: 'route: /accounts/{A}', request: { path: '/client/v4/accounts/{A}' }, expect: NO_ROUTE },
	{ name: 'route: double slash', request: { path: '/client/v4/accounts/{A}//d1/database' }, expect: NO_ROUTE },
	{ name: 'route: /query/extra', request: { path: `${Q}/extra`, body: { sql: 'SELECT 1' } }, expect: NO_ROUTE },
	{ name: 'route: /query/.. (no dot-segment resolution)', request: { path: `${Q}/..`, body: { sql: 'SELECT 1' } }, expect: NO_ROUTE },
	{ name: 'export: output_format other than polling', request: { path: `${D}/export`, body: { output_format: 'file' } }, expect: { ...BAD_REQ, msg: /output_format/ } },
	{ name: 'export: a current_bookmark that names no export', request: { path: `${D}/export`, body: { output_format: 'polling', current_bookmark: '../../x' } }, expect: { ...BAD_REQ, msg: /No export/ } },
	{ name: 'export: tables not an array', request: { path: `${D}/export`, body: { output_format: 'polling', dump_options: { tables: 'seed' } } }, expect: { ...BAD_REQ, msg: /tables/ } },
	{ name: 'import: etag with a path', request: { path: `${D}/import`, body: { action: 'init', etag: '../../../../etc/passwd' } }, expect: { ...BAD_REQ, msg: /etag/ } },
	{ name: 'signed export URL without a signature', request: { method: 'GET', path: '/client/v4/d1/signed/export/{DB}/x.sql' }, expect: { status: 403, code: 10000, msg: /not signed/ } },
	{ name: 'route: /graphql/x', request: { path: `${G}/x`, body: {} }, expect: NO_ROUTE },
	{ name: 'route: /client/v4/../../etc/passwd', request: { path: '/client/v4/../../etc/passwd' }, expect: NO_ROUTE },
	{ name: 'route: /client/v4/%2e%2e/%2e%2e/catalog.sqlite', request: { path: '/client/v4/%2e%2e/%2e%2e/catalog.sqlite' }, expect: NO_ROUTE },
	// wrong methods
	{ name: 'method: DELETE on the list', request: { method: 'DELETE', path: L }, expect: { status: 405, code: 10405, allow: ['GET', 'POST'] } },
	{ name: 'method: PUT on the list', request: { method: 'PUT', path: L, body: { name: 'x' } }, expect: { status: 405, code: 10405, allow: ['GET', 'POST'] } },
	{ name: 'method: PATCH on the list', request: { method: 'PATCH', path: L, body: {} }, expect: { status: 405, code: 10405, allow: ['GET', 'POST'] } },
	{ name: 'method: POST on a database', request: { method: 'POST', path: D, body: { sql: 'DELETE FROM seed' } }, expect: { status: 405, code: 10405, allow: ['GET', 'PUT', 'PATCH', 'DELETE'] } },
	{ name: 'method: GET on /query', request: { method: 'GET', path: `${Q}?sql=DELETE%20FROM%20seed` }, expect: { status: 405, code: 10405, allow: ['POST'] } },
	{ name: 'method: PUT on /query', request: { method: 'PUT', path: Q, body: { sql: 'SELECT 1' } }, expect: { status: 405, code: 10405, allow: ['POST'] } },
	{ name: 'method: DELETE on /raw', request: { method: 'DELETE', path: R }, expect: { status: 405, code: 10405, allow: ['POST'] } },
	{ name: 'method: GET on /graphql', request: { method: 'GET', path: G }, expect: { status: 405, code: 10405, allow: ['POST'] } },
	{ name: 'method: TRACE on a database', request: { method: 'TRACE', path: D }, expect: { status: 405, code: 10405, allow: ['GET'] } },
	{ name: 'method: OPTIONS on a database', request: { method: 'OPTIONS', path: D }, expect: { status: 405, code: 10405, allow: ['GET'] } },
	{ name: 'method: CONNECT on the list', request: { method: 'CONNECT', path: L }, expect: { status: [400, 405] } },
	{ name: 'method: FOO on the list', request: { method: 'FOO', path: L }, expect: { status: 405, code: 10405, allow: ['GET', 'POST'] } },
	{ name: 'method: lower-case "delete" on a database', request: { method: 'delete', path: D }, expect: { status: 405, code: 10405 } },
	{ name: 'method: HEAD on the list', request: { method: 'HEAD', path: L }, expect: { status: 405, envelope: false, allow: ['GET', 'POST'] } },
];

const HEADER_ROWS = [
	{ name: 'auth: none', request: { path: L, auth: null }, expect: NO_AUTH },
	{ name: 'auth: empty Authorization', request: { path: L, auth: '' }, expect: NO_AUTH },
	{ name: 'auth: token without a scheme', request: { path: L, auth: '{TOK}' }, expect: BAD_TOKEN },
	{ name: 'auth: "Bearer" with nothing', request: { path: L, auth: 'Bearer' }, expect: BAD_TOKEN },
	{ name: 'auth: "Bearer" and blanks', request: { path: L, auth: 'Bearer      ' }, expect: BAD_TOKEN },
	{ name: 'auth: "Bearer" twice', request: { path: L, auth: 'Bearer Bearer {TOK}' }, expect: BAD_TOKEN },
	{ name: 'auth: token followed by another word', request: { path: L, auth: 'Bearer {TOK} extra' }, expect: BAD_TOKEN },
	{ name: 'auth: tab between scheme and token', request: { path: L, auth: 'Bearer\t{TOK}' }, expect: BAD_TOKEN },
	{ name: 'auth: Basic credentials', request: { path: L, auth: 'Basic dXNlcjpwYXNzd29yZA==' }, expect: BAD_TOKEN },
	{ name: 'auth: token with a base64 "=" padding', request: { path: L, auth: 'Bearer {TOK}==' }, expect: BAD_TOKEN },
	{ name: 'auth: token of 8000 characters', request: { path: L, auth: `Bearer ${'A'.repeat(8000)}` }, expect: BAD_TOKEN },
	{ name: 'auth: token of 100000 characters', request: { path: L, auth: `Bearer ${'A'.repeat(100000)}` }, expect: PROTO(431) },
	{ name: 'auth: non-ASCII token (UTF-8)', request: { path: L, auth: utf8('Bearer tökén☃') }, expect: BAD_TOKEN },
	{ name: 'auth: non-ASCII token (latin1 byte E9)', request: { path: L, auth: 'Bearer \xe9\xe9\xe9' }, expect: BAD_TOKEN },
	{ name: 'auth: token with SQL', request: { path: L, auth: "Bearer ' OR '1'='1" }, expect: BAD_TOKEN },
	{ name: 'auth: valid token, raw NUL, then junk', request: { path: L, auth: 'Bearer {TOK}\x00junk' }, expect: { status: [400, 401] }, todo: NUL_TODO },
	{ name: 'auth: bare CR inside the value', request: { path: L, auth: 'Bearer nope\rX-Auth-Key: {TOK}' }, expect: { status: [400, 401] } },
	{ name: 'auth: bare LF injecting a header', request: { path: L, auth: 'Bearer nope\nX-Auth-Key: {TOK}' }, expect: { status: [400, 401] } },
	{ name: 'auth: CRLF injecting X-Auth headers after a bad token', request: { path: L, auth: 'Bearer nope\r\nX-Auth-Email: {EMAIL}\r\nX-Auth-Key: {TOK}' }, expect: BAD_TOKEN },
	{ name: 'auth: obs-fold continuation line', request: { path: L, auth: 'Bearer nope\r\n {TOK}' }, expect: { status: [400, 401] } },
	{ name: 'auth: X-Auth-Key without X-Auth-Email', request: { path: L, auth: null, headers: { 'X-Auth-Key': '{TOK}' } }, expect: BAD_TOKEN },
	{ name: 'auth: X-Auth-Email without X-Auth-Key', request: { path: L, auth: null, headers: { 'X-Auth-Email': '{EMAIL}' } }, expect: NO_AUTH },
	{ name: 'auth: X-Auth-Key with a wrong X-Auth-Email', request: { path: L, auth: null, headers: { 'X-Auth-Email': 'mallory@example.com', 'X-Auth-Key': '{TOK}' } }, expect: BAD_TOKEN },
	{ name: 'auth: X-Auth-Key garbage with the right email', request: { path: L, auth: null, headers: { 'X-Auth-Email': '{EMAIL}', 'X-Auth-Key': 'garbage!' } }, expect: BAD_TOKEN },
	{ name: 'auth: X-Auth-Email, raw NUL, then junk', request: { path: L, auth: null, headers: { 'X-Auth-Email': '{EMAIL}\x00junk', 'X-Auth-Key': '{TOK}' } }, expect: { status: [400, 401] }, todo: NUL_TODO },
	{ name: 'auth: read-only token creates', request: { path: L, auth: 'Bearer {RO}', body: { name: 'ro-create' } }, expect: RO_WRITE },
	{ name: 'auth: read-only token deletes', request: { method: 'DELETE', path: D, auth: 'Bearer {RO}' }, expect: RO_WRITE },
	{ name: 'auth: read-only token PUTs', request: { method: 'PUT', path: D, auth: 'Bearer {RO}', body: { read_replication: { mode: 'auto' } } }, expect: RO_WRITE },
	{ name: 'auth: read-only token writes by SQL', request: { path: Q, auth: 'Bearer {RO}', body: { sql: 'DELETE FROM seed' } }, expect: RO_WRITE },
	{ name: 'auth: read-only token writes in a later statement', request: { path: Q, auth: 'Bearer {RO}', body: { sql: 'SELECT 1; UPDATE seed SET v = 0' } }, expect: RO_WRITE },
	{ name: "auth: the other account's token on my database", request: { path: D, auth: 'Bearer {TOKB}' }, expect: FOREIGN },
	// protocol level
	{ name: 'header: one header of 100000 bytes', request: { path: L, headers: { 'X-Big': 'b'.repeat(100000) } }, expect: PROTO(431) },
	{ name: 'header: 3000 headers', request: { path: L, headers: Array.from({ length: 3000 }, (_, i) => [`X-H${i}`, 'v']) }, expect: PROTO(431) },
	{ name: 'header: a line without a colon', request: { raw: `GET ${L} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK}\r\nConnection: close\r\nGarbage\r\n\r\n` }, expect: PROTO(400) },
	{ name: 'header: Content-Length -1', request: { raw: `POST ${Q} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK}\r\nConnection: close\r\nContent-Length: -1\r\n\r\n{}` }, expect: PROTO(400) },
	{ name: 'header: Content-Length abc', request: { raw: `POST ${Q} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK}\r\nConnection: close\r\nContent-Length: abc\r\n\r\n{}` }, expect: PROTO(400) },
	{ name: 'header: Content-Length of 2^64', request: { raw: `POST ${Q} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK}\r\nConnection: close\r\nContent-Length: 18446744073709551616\r\n\r\n{}` }, expect: PROTO([400, 413]) },
	{
		name: 'header: two different Content-Lengths (request smuggling)',
		request: { raw: `POST ${L} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 20\r\nContent-Length: 2\r\n\r\n{"name":"smuggled1"}` },
		expect: { status: 400, envelope: false },
	},
	{
		name: 'header: Content-Length and Transfer-Encoding together',
		request: { raw: `POST ${L} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 20\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{"name":"smuggled2"}` },
		expect: { status: 400, envelope: false },
	},
	{ name: 'header: HTTP/1.1 request without Host', request: { raw: `GET ${L} HTTP/1.1\r\nAuthorization: Bearer {TOK}\r\nConnection: close\r\n\r\n` }, expect: { status: 400, envelope: false } },
	// 'HTTP/9.9' is not a row: libmicrohttpd answers 505 HTTP Version Not
	// Supported, the status RFC 9110 prescribes, so it is not a 4xx case.
];

// Requests whose header values Node's http client may refuse to send (it
// rejects CR and LF). Such a row is skipped, with the reason.
const NODE_HTTP_ROWS = [
	{ name: 'node:http CRLF in Authorization', request: { path: L, headers: { Authorization: 'Bearer nope\r\nX-Auth-Key: {TOK}' } }, expect: { status: [400, 401] } },
	{ name: 'node:http LF in X-Auth-Email', request: { path: L, headers: { 'X-Auth-Email': '{EMAIL}\nX-Injected: 1', 'X-Auth-Key': '{TOK}' } }, expect: { status: [400, 401] } },
];

const long = (n) => `SELECT '${'a'.repeat(n)}'`;
const SQL_ROWS = [
	// ATTACH and DETACH
	{ name: 'sql: ATTACH a file', request: q("ATTACH 'evil.db' AS evil"), expect: SQL_AUTH },
	{ name: 'sql: attach :memory: (lower case)', request: q("attach database ':memory:' as m"), expect: SQL_AUTH },
	{ name: 'sql: AtTaCh with comments and a URI', request: q("AtTaCh/**/DaTaBaSe 'file:/etc/passwd?mode=ro&immutable=1' /* x */ AS p"), expect: SQL_AUTH },
	{ name: 'sql: ATTACH after a line comment', request: q("-- harmless\nATTACH '/tmp/d1d-hostile-evil.db' AS evil"), expect: SQL_AUTH },
	{ name: 'sql: ATTACH of the catalog by a relative path', request: q("ATTACH '../../catalog.sqlite' AS cat"), expect: SQL_AUTH },
	{ name: 'sql: ATTACH with the file as a parameter', request: q('ATTACH ? AS evil', ['/tmp/d1d-hostile-evil.db']), expect: SQL_AUTH },
	{ name: 'sql: ATTACH as the second statement, after a write', request: q("INSERT INTO seed(v) VALUES('attached'); ATTACH 'x.db' AS x"), expect: SQL_AUTH },
	{ name: 'sql: ATTACH in the second unit of a batch', request: { path: Q, body: { batch: [{ sql: "DELETE FROM seed" }, { sql: "ATTACH 'x.db' AS x" }] } }, expect: SQL_AUTH },
	{ name: 'sql: ATTACH through /raw', request: { path: R, body: { sql: "ATTACH 'file::memory:?cache=shared' AS s" } }, expect: SQL_AUTH },
	{ name: 'sql: DETACH main', request: q('DETACH main'), expect: SQL_AUTH },
	{ name: 'sql: DETACH DATABASE temp', request: q('DETACH DATABASE temp'), expect: SQL_AUTH },
	{ name: 'sql: a schema other than main', request: q('SELECT * FROM evil.seed'), expect: SQL_ERR },
	// VACUUM
	{ name: 'sql: VACUUM INTO a file', request: q("VACUUM INTO '/tmp/d1d-hostile-copy.db'"), expect: { ...SQL_ERR, msg: /VACUUM INTO/ } },
	{ name: 'sql: vacuum main into a URI', request: q("vacuum main into 'file:/tmp/d1d-hostile-copy2.db'"), expect: { ...SQL_ERR, msg: /VACUUM INTO/ } },
	{ name: 'sql: VACUUM/**/INTO without spaces', request: q("VACUUM/**/INTO'/tmp/d1d-hostile-copy3.db'"), expect: { ...SQL_ERR, msg: /VACUUM INTO/ } },
	{ name: 'sql: VACUUM INTO a parameter', request: q('VACUUM INTO ?', ['/tmp/d1d-hostile-copy4.db']), expect: { ...SQL_ERR, msg: /VACUUM INTO/ } },
	{ name: 'sql: VACUUM after another statement', request: q('SELECT 1; VACUUM'), expect: { ...SQL_ERR, msg: /alone/ } },
	// extensions
	{ name: 'sql: load_extension of libc', request: q("SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')"), expect: SQL_AUTH },
	{ name: 'sql: "LOAD_EXTENSION" quoted', request: q(`SELECT "LOAD_EXTENSION"('/tmp/x.so', 'init')`), expect: SQL_AUTH },
	{ name: 'sql: load_extension inside a view', request: q("CREATE VIEW ext AS SELECT load_extension('/tmp/x.so'); SELECT * FROM ext"), expect: SQL_ERR },
	{ name: 'sql: fts3_tokenizer', request: q("SELECT fts3_tokenizer('simple')"), expect: SQL_AUTH },
	// PRAGMAs
	{ name: 'sql: PRAGMA writable_schema=ON', request: q('PRAGMA writable_schema=ON'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA /* c */ WRITABLE_SCHEMA = 1', request: q('PRAGMA /* c */ WRITABLE_SCHEMA = 1'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA journal_mode=DELETE', request: q('PRAGMA journal_mode=DELETE'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA main.journal_mode=OFF', request: q('PRAGMA main.journal_mode=OFF'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA temp_store=MEMORY', request: q('PRAGMA temp_store=MEMORY'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA temp_store_directory', request: q("PRAGMA temp_store_directory='/tmp'"), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA mmap_size', request: q('PRAGMA mmap_size=1073741824'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA max_page_count', request: q('PRAGMA max_page_count=2147483647'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA locking_mode=EXCLUSIVE', request: q('PRAGMA locking_mode=EXCLUSIVE'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA schema_version=1', request: q('PRAGMA schema_version=1'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA trusted_schema=ON', request: q('PRAGMA trusted_schema=ON'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA page_size=512', request: q('PRAGMA page_size=512'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA wal_checkpoint(TRUNCATE)', request: q('PRAGMA wal_checkpoint(TRUNCATE)'), expect: SQL_AUTH },
	{ name: 'sql: PRAGMA database_list', request: q('PRAGMA database_list'), expect: SQL_AUTH },
	{ name: 'sql: SELECT FROM pragma_database_list (host path)', request: q('SELECT * FROM pragma_database_list'), expect: SQL_AUTH },
	{ name: 'sql: SELECT FROM pragma_compile_options', request: q('SELECT * FROM pragma_compile_options'), expect: SQL_AUTH },
	// virtual tables
	{ name: 'sql: CREATE VIRTUAL TABLE USING fts4', request: q('CREATE VIRTUAL TABLE f4 USING fts4(a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE VIRTUAL TABLE USING FTS3 (upper case)', request: q('CREATE VIRTUAL TABLE f3 USING FTS3(a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE VIRTUAL TABLE USING dbstat', request: q('CREATE VIRTUAL TABLE ds USING dbstat(main)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE VIRTUAL TABLE USING csv of /etc/passwd', request: q("CREATE VIRTUAL TABLE pw USING csv(filename='/etc/passwd')"), expect: SQL_AUTH },
	{ name: 'sql: CREATE VIRTUAL TABLE USING sqlite_dbpage', request: q('CREATE VIRTUAL TABLE IF NOT EXISTS pg USING sqlite_dbpage'), expect: SQL_AUTH },
	{ name: 'sql: CREATE VIRTUAL TABLE temp.f USING fts5', request: q('CREATE VIRTUAL TABLE temp.f USING fts5(a)'), expect: SQL_AUTH },
	{ name: 'sql: SELECT * FROM sqlite_dbpage', request: q('SELECT * FROM sqlite_dbpage'), expect: SQL_ERR },
	{ name: "sql: SELECT * FROM sqlite_dbpage('main')", request: q("SELECT * FROM sqlite_dbpage('main')"), expect: SQL_ERR },
	{ name: 'sql: INSERT INTO sqlite_dbpage', request: q('INSERT INTO sqlite_dbpage VALUES(1, zeroblob(4096))'), expect: SQL_ERR },
	{ name: 'sql: SELECT * FROM dbstat', request: q('SELECT * FROM dbstat'), expect: SQL_AUTH },
	{ name: "sql: SELECT * FROM DBSTAT('main')", request: q("SELECT * FROM DBSTAT('main')"), expect: SQL_AUTH },
	{ name: 'sql: SELECT * FROM sqlite_stmt', request: q('SELECT * FROM sqlite_stmt'), expect: SQL_AUTH },
	// fts5 tricks: its shadow tables are read-only under defensive mode, its
	// rank option takes an auxiliary function, not SQL, and fts5vocab may
	// not reach another schema.
	{ name: 'sql: write into an fts5 shadow table (_data)', request: q("CREATE VIRTUAL TABLE hf USING fts5(a); INSERT INTO hf_data VALUES(10, x'00ff00ff')"), expect: SQL_ERR },
	{ name: 'sql: corrupt an fts5 shadow table (_idx)', request: q("CREATE VIRTUAL TABLE hf USING fts5(a); INSERT INTO hf(a) VALUES('x'); UPDATE hf_idx SET pgno = 99"), expect: SQL_ERR },
	{ name: 'sql: drop an fts5 shadow table', request: q('CREATE VIRTUAL TABLE hf USING fts5(a); DROP TABLE hf_content'), expect: SQL_ERR },
	{ name: "sql: fts5 rank set to load_extension()", request: q("CREATE VIRTUAL TABLE hf USING fts5(a); INSERT INTO hf(hf, rank) VALUES('rank', 'load_extension(''/tmp/x.so'')'); INSERT INTO hf(a) VALUES('x'); SELECT * FROM hf('x') ORDER BY rank"), expect: SQL_ERR },
	{ name: 'sql: fts5vocab over the temp schema', request: q("CREATE VIRTUAL TABLE hv USING fts5vocab('temp', 'x', 'row')"), expect: SQL_ERR },
	{ name: 'sql: fts5 over sqlite_schema as external content, rebuilt, then a failure: nothing stays', request: q("CREATE VIRTUAL TABLE hf USING fts5(sql, content='sqlite_schema', content_rowid='rootpage'); INSERT INTO hf(hf) VALUES('rebuild'); INSERT INTO hf(hf, rowid, sql) VALUES('delete', 2, 'x'); SELECT * FROM nope"), expect: SQL_ERR },
	// the schema table
	{ name: 'sql: UPDATE sqlite_master', request: q("UPDATE sqlite_master SET sql = 'CREATE TABLE seed(x)' WHERE name = 'seed'"), expect: SQL_ERR },
	{ name: 'sql: DELETE FROM sqlite_schema', request: q('DELETE FROM sqlite_schema'), expect: SQL_ERR },
	{ name: 'sql: INSERT INTO sqlite_master', request: q("INSERT INTO sqlite_master VALUES('table','x','x',2,'CREATE TABLE x(a)')"), expect: SQL_ERR },
	{ name: 'sql: UPDATE main.sqlite_schema', request: q("UPDATE main.sqlite_schema SET name = 'gone'"), expect: SQL_ERR },
	{ name: 'sql: DROP TABLE sqlite_master', request: q('DROP TABLE sqlite_master'), expect: SQL_ERR },
	{ name: 'sql: CREATE TABLE sqlite_evil', request: q('CREATE TABLE sqlite_evil(a)'), expect: SQL_ERR },
	{ name: 'sql: ALTER TABLE sqlite_schema RENAME', request: q('ALTER TABLE sqlite_schema RENAME TO plain'), expect: SQL_ERR },
	// reserved _cf_ names
	{ name: 'sql: CREATE TABLE _cf_kv', request: q('CREATE TABLE _cf_kv(a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TABLE _CF_KV (upper case)', request: q('CREATE TABLE _CF_KV(a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TABLE "_Cf_Kv" (quoted, mixed case)', request: q('CREATE TABLE "_Cf_Kv"(a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TABLE [_cf_x] (brackets)', request: q('CREATE TABLE [_cf_x](a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TABLE `_cF_x` (backticks)', request: q('CREATE TABLE `_cF_x`(a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TABLE main._cf_x', request: q('CREATE TABLE main._cf_x(a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TABLE _cf_x AS SELECT', request: q('CREATE TABLE _cf_x AS SELECT * FROM seed'), expect: SQL_AUTH },
	{ name: 'sql: CREATE INDEX _cf_i', request: q('CREATE INDEX _cf_i ON seed(v)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE VIEW _CF_V', request: q('CREATE VIEW _CF_V AS SELECT 1'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TRIGGER _cf_t', request: q('CREATE TRIGGER _cf_t AFTER INSERT ON seed BEGIN SELECT 1; END'), expect: SQL_AUTH },
	{ name: 'sql: CREATE VIRTUAL TABLE _cf_f USING fts5', request: q('CREATE VIRTUAL TABLE _cf_f USING fts5(a)'), expect: SQL_AUTH },
	{ name: 'sql: ALTER TABLE seed RENAME TO _cf_seed', request: q('ALTER TABLE seed RENAME TO _cf_seed'), expect: SQL_AUTH },
	{ name: 'sql: ALTER TABLE seed RENAME TO "_CF_SEED"', request: q('ALTER TABLE seed RENAME TO "_CF_SEED"'), expect: SQL_AUTH },
	{ name: 'sql: SELECT * FROM _cf_KV', request: q('SELECT * FROM _cf_KV'), expect: SQL_ERR },
	{ name: 'sql: INSERT INTO _cf_METADATA', request: q('INSERT INTO _cf_METADATA VALUES(1)'), expect: SQL_ERR },
	{ name: 'sql: DROP TABLE _cf_KV', request: q('DROP TABLE _cf_KV'), expect: SQL_ERR },
	// TEMP objects
	{ name: 'sql: CREATE TEMP TABLE', request: q('CREATE TEMP TABLE t(a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TEMPORARY VIEW', request: q('CREATE TEMPORARY VIEW v AS SELECT 1'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TABLE temp.x', request: q('CREATE TABLE temp.x(a)'), expect: SQL_AUTH },
	{ name: 'sql: CREATE TEMP TRIGGER on seed', request: q('CREATE TEMP TRIGGER tt AFTER INSERT ON main.seed BEGIN DELETE FROM seed; END'), expect: SQL_AUTH },
	{ name: 'sql: SELECT FROM temp.sqlite_master', request: q('SELECT * FROM temp.sqlite_master'), expect: SQL_AUTH },
	// huge values
	{ name: 'sql: zeroblob(2000001)', request: q('SELECT zeroblob(2000001)'), expect: SQL_TOOBIG },
	{ name: 'sql: zeroblob(2^63-1)', request: q('SELECT zeroblob(9223372036854775807)'), expect: SQL_TOOBIG },
	{ name: 'sql: randomblob(1e9)', request: q('SELECT randomblob(1000000000)'), expect: SQL_TOOBIG },
	{ name: 'sql: quote() of a 1 MB blob (2 MB of text)', request: q('SELECT length(quote(zeroblob(1000000)))'), expect: SQL_TOOBIG },
	{ name: 'sql: replace() doubling 2 MB of hex', request: q("SELECT replace(hex(zeroblob(1000000)), '0', '00')"), expect: SQL_TOOBIG },
	{ name: 'sql: INSERT of zeroblob(2000001)', request: q('INSERT INTO seed(v, b) VALUES(?, zeroblob(2000001))', ['big']), expect: SQL_TOOBIG },
	{ name: 'sql: a 2.5 MB string parameter', request: { path: Q, body: () => ({ sql: 'SELECT length(?)', params: ['p'.repeat(2500000)] }) }, expect: SQL_TOOBIG },
	{ name: 'sql: recursive doubling of a string', request: q("WITH RECURSIVE c(s) AS (SELECT 'xx' UNION ALL SELECT s || s FROM c) SELECT length(s) FROM c"), expect: SQL_TOOBIG },
	// parameters
	{ name: 'sql: 101 parameters', request: q(`SELECT ${Array(101).fill('?').join(',')}`, Array(101).fill(1)), expect: { ...BAD_REQ, msg: /parameters/i } },
	{ name: 'sql: ?101', request: q('SELECT ?101'), expect: SQL_ERR },
	{ name: 'sql: ?0', request: q('SELECT ?0', [1]), expect: SQL_ERR },
	{ name: 'sql: ?99999999999999999999', request: q('SELECT ?99999999999999999999', [1]), expect: SQL_ERR },
	{ name: 'sql: named parameter :name', request: q('SELECT :name', ['x']), expect: { ...SQL_ERR, msg: /named/ } },
	{ name: 'sql: $name parameter', request: q('SELECT $name', ['x']), expect: { ...SQL_ERR, msg: /named/ } },
	{ name: 'sql: one placeholder, two params', request: q('SELECT ?', [1, 2]), expect: { ...SQL_ERR, msg: /Wrong number/ } },
	{ name: 'sql: two placeholders, one param', request: q('SELECT ?, ?', [1]), expect: { ...SQL_ERR, msg: /Wrong number/ } },
	{ name: 'sql: placeholder without params', request: q('DELETE FROM seed WHERE id = ?'), expect: { ...SQL_ERR, msg: /Wrong number/ } },
	// columns, statement size, parser limits
	{ name: 'sql: SELECT of 101 columns', request: q(`SELECT ${Array.from({ length: 101 }, (_, i) => i).join(',')}`), expect: SQL_ERR },
	{ name: 'sql: CREATE TABLE of 101 columns', request: q(`CREATE TABLE wide(${cols(101).join(',')})`), expect: SQL_ERR },
	{ name: 'sql: SELECT * of 26 joined tables (104 columns)', request: q(`SELECT * FROM ${Array.from({ length: 26 }, (_, i) => `seed t${i}`).join(', ')} LIMIT 0`), expect: SQL_ERR },
	{ name: 'sql: ALTER TABLE ADD COLUMN past 100', request: q(`CREATE TABLE w(${cols(100).join(',')}); ALTER TABLE w ADD COLUMN c100`), expect: SQL_ERR },
	{ name: 'sql: statement of 100 kB + 3', request: q(long(100001)), expect: SQL_TOOBIG },
	{ name: 'sql: statement of 1 MB', request: q(long(1000000)), expect: SQL_TOOBIG },
	{ name: 'sql: 100 kB comment inside a statement', request: q(`SELECT 1 /* ${'c'.repeat(100001)} */ + 1`), expect: SQL_TOOBIG },
	{ name: 'sql: INSERT of a 150 kB literal', request: q(`INSERT INTO seed(v) VALUES('${'v'.repeat(150000)}')`), expect: SQL_TOOBIG },
	{ name: 'sql: 5000 nested parentheses', request: q(`SELECT ${nest('(', ')', 5000)}`), expect: SQL_ERR },
	{ name: 'sql: 20000 nested parentheses', request: q(`SELECT ${nest('(', ')', 20000)}`), expect: SQL_ERR },
	{ name: 'sql: 1100 nested function calls', request: q(`SELECT ${nest('abs(', ')', 1100)}`), expect: SQL_ERR },
	{ name: 'sql: 1100 nested sub-selects', request: q(`SELECT ${nest('(SELECT ', ')', 1100)}`), expect: SQL_ERR },
	{ name: 'sql: 1+1+... 20000 terms', request: q(`SELECT ${Array(20000).fill('1').join('+')}`), expect: SQL_ERR },
	{ name: 'sql: 600-term compound SELECT', request: q(Array.from({ length: 600 }, (_, i) => `SELECT ${i}`).join(' UNION ALL ')), expect: SQL_ERR },
	{ name: 'sql: function with 33 arguments', request: q(`SELECT max(${Array.from({ length: 33 }, (_, i) => i).join(',')})`), expect: SQL_ERR },
	{ name: 'sql: LIKE pattern of 51 bytes', request: q(`SELECT 'a' LIKE '${'%a'.repeat(26)}'`), expect: SQL_ERR },
	// transactions
	{ name: 'sql: BEGIN', request: q('BEGIN'), expect: SQL_TX },
	{ name: 'sql: BEGIN IMMEDIATE', request: q('BEGIN IMMEDIATE'), expect: SQL_TX },
	{ name: 'sql: /* c */ begin exclusive transaction', request: q('/* c */ begin exclusive transaction'), expect: SQL_TX },
	{ name: 'sql: COMMIT', request: q('COMMIT'), expect: SQL_TX },
	{ name: 'sql: END TRANSACTION', request: q('END TRANSACTION'), expect: SQL_TX },
	{ name: 'sql: ROLLBACK', request: q('ROLLBACK'), expect: SQL_TX },
	{ name: 'sql: SAVEPOINT a', request: q('SAVEPOINT a'), expect: SQL_TX },
	{ name: 'sql: RELEASE a', request: q('RELEASE a'), expect: SQL_TX },
	{ name: 'sql: ROLLBACK TO a', request: q('ROLLBACK TO SAVEPOINT a'), expect: SQL_TX },
	{ name: 'sql: COMMIT between a SELECT and a DELETE', request: q('SELECT 1; COMMIT; DELETE FROM seed'), expect: SQL_TX },
	{ name: 'sql: DELETE then ROLLBACK', request: q('DELETE FROM seed; ROLLBACK'), expect: SQL_TX },
	{ name: 'sql: DELETE then COMMIT in a batch', request: { path: Q, body: { batch: [{ sql: 'DELETE FROM seed' }, { sql: 'COMMIT' }] } }, expect: SQL_TX },
	{ name: 'sql: SAVEPOINT then RELEASE around an INSERT', request: q("SAVEPOINT s; INSERT INTO seed(v) VALUES('sp'); RELEASE s"), expect: SQL_TX },
	{ name: 'sql: a trigger body with COMMIT', request: q('CREATE TRIGGER tx AFTER INSERT ON seed BEGIN COMMIT; END'), expect: SQL_ERR },
	// writes that must not survive their failure
	{ name: 'sql: DELETE followed by a syntax error', request: q('DELETE FROM seed; SELEC 1'), expect: SQL_ERR },
	{ name: 'sql: DROP TABLE followed by a failing statement', request: q("DROP TABLE seed; SELECT * FROM nope"), expect: SQL_ERR },
];

// Rows that look hostile but are allowed (D1's allow-lists, RFC 7235): they
// must succeed. They run on the scratch database.
const S = `${L}/{SCRATCH}`;
const ALLOWED_ROWS = [
	{ name: 'allowed: contentless fts5 table and fts5vocab', request: { path: `${S}/query`, body: { sql: "CREATE VIRTUAL TABLE f USING fts5(body, content=''); INSERT INTO f(rowid, body) VALUES(1, 'one two'), (2, 'two three'); CREATE VIRTUAL TABLE fv USING fts5vocab(f, 'row'); SELECT term FROM fv ORDER BY term" } }, check: (r) => assert.deepEqual(r.at(-1).results, [{ term: 'one' }, { term: 'three' }, { term: 'two' }]) },
	{ name: "allowed: fts5 INSERT INTO f(f) VALUES('delete-all')", request: { path: `${S}/query`, body: { sql: "INSERT INTO f(f) VALUES('delete-all'); INSERT INTO f(rowid, body) VALUES(3, 'four'); SELECT term FROM fv" } }, check: (r) => assert.deepEqual(r.at(-1).results, [{ term: 'four' }]) },
	{ name: "allowed: fts5 'rebuild', 'optimize' and 'integrity-check'", request: { path: `${S}/query`, body: { sql: "CREATE VIRTUAL TABLE g USING fts5(body); INSERT INTO g(body) VALUES('alpha beta'); INSERT INTO g(g) VALUES('rebuild'); INSERT INTO g(g) VALUES('optimize'); INSERT INTO g(g) VALUES('integrity-check'); SELECT rowid FROM g WHERE g MATCH 'beta'" } }, check: (r) => assert.deepEqual(r.at(-1).results, [{ rowid: 1 }]) },
	{ name: 'allowed: rtree', request: { path: `${S}/query`, body: { sql: 'CREATE VIRTUAL TABLE rt USING rtree(id, minx, maxx)' } } },
	{ name: 'allowed: PRAGMA quick_check', request: { path: `${S}/query`, body: { sql: 'PRAGMA quick_check' } }, check: (r) => assert.deepEqual(r[0].results, [{ quick_check: 'ok' }]) },
	{ name: 'allowed: Authorization with several spaces (RFC 7235: 1*SP)', request: { path: L, auth: 'Bearer     {TOK}' } },
	{ name: 'allowed: lower-case "bearer" scheme', request: { path: L, auth: 'bearer {TOK}' } },
	{ name: 'allowed: fields repeated', request: { path: `${S}?fields=uuid&fields=name` } },
];

// ---------------------------------------------------------------------------
// Seeded content and the final check

const SEED_N = 40;
const seedRow = (i) => [i, `row ${i}: it's "quoted"; -- not a comment /* é ☃ 🎉 */`, i * 1000003 - 7, [i, 255 - i, 0, 10]];
const SEED_ROWS = Array.from({ length: SEED_N }, (_, k) => seedRow(k + 1));
const SEED_SCHEMA_SQL = 'CREATE TABLE seed(id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER, b BLOB); CREATE INDEX seed_v ON seed(v)';
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const sha256 = (v) => crypto.createHash('sha256').update(JSON.stringify(v)).digest('hex');

/** Plain JSON request through the raw client (for setup and checks). */
async function call(srv, method, path, body, token = srv.token) {
	const { port } = new URL(srv.url);
	const rq = { method, path, auth: token ? `Bearer ${token}` : null, body };
	return send(Number(port), build(rq, { PORT: port }));
}

async function seed(srv, db, token = srv.token, accountId = srv.account.id) {
	const p = `/client/v4/accounts/${accountId}/d1/database/${db}/query`;
	assertOk(await call(srv, 'POST', p, { sql: SEED_SCHEMA_SQL }, token));
	const batch = SEED_ROWS.map(([id, v, n, b]) => ({ sql: `INSERT INTO seed(id, v, n, b) VALUES (?, ?, ?, X'${hex(b)}')`, params: [id, v, n] }));
	assertOk(await call(srv, 'POST', p, { batch }, token));
}

async function snapshotSchema(srv, db, token = srv.token, accountId = srv.account.id) {
	const p = `/client/v4/accounts/${accountId}/d1/database/${db}/raw`;
	const r = assertOk(await call(srv, 'POST', p, { sql: 'SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name' }, token));
	return r[0].results.rows;
}

/** The database answers, its seed table is exactly SEED_ROWS, its schema is
 * unchanged (with extraOk, objects added beside the seeded ones are allowed:
 * the scratch database gets the allowed rows' tables) and PRAGMA quick_check
 * says ok. */
async function assertIntact(srv, { uuid, name, schema, extraOk = false, token = srv.token, accountId = srv.account.id }) {
	const base = `/client/v4/accounts/${accountId}/d1/database/${uuid}`;
	const got = assertOk(await call(srv, 'GET', base, undefined, token));
	assert.equal(got.name, name);
	assert.equal(got.uuid, uuid);
	assert.equal(got.read_replication?.mode, 'disabled', `read_replication of ${name}`);
	const rows = assertOk(await call(srv, 'POST', `${base}/raw`, { sql: 'SELECT id, v, n, b FROM seed ORDER BY id' }, token))[0].results.rows;
	assert.equal(sha256(rows), sha256(SEED_ROWS), `content hash of ${name}.seed changed`);
	assert.deepEqual(rows, SEED_ROWS);
	const now = await snapshotSchema(srv, uuid, token, accountId);
	const seeded = new Set(schema.map((r) => r[1]));
	assert.deepEqual(extraOk ? now.filter((r) => seeded.has(r[1])) : now, schema, `schema of ${name} changed`);
	const qc = assertOk(await call(srv, 'POST', `${base}/query`, { sql: 'PRAGMA quick_check' }, token));
	assert.deepEqual(qc[0].results, [{ quick_check: 'ok' }], `quick_check of ${name}`);
}

/** The server is up and answers a plain request promptly. */
async function assertAlive(srv, ctx, timeout = 3000) {
	assert.equal(srv.exited(), null, `d1d exited: ${JSON.stringify(srv.exited())}`);
	const res = await send(Number(ctx.PORT), build({ path: `${D}?fields=uuid` }, ctx), { timeout });
	assert.equal(res.status, 200, `liveness probe: ${describeRes(res)}`);
}

// ---------------------------------------------------------------------------
// Slow and broken clients

function openRaw(port) {
	return new Promise((resolve, reject) => {
		const s = net.connect(port, '127.0.0.1', () => resolve(s));
		s.on('error', reject);
	});
}

/** Resolves with everything received once the server closes s (or null on timeout). */
function whenClosed(s, timeout) {
	return new Promise((resolve) => {
		const chunks = [];
		const t = setTimeout(() => resolve(null), timeout);
		s.on('data', (d) => chunks.push(d));
		s.on('error', () => {});
		s.on('close', () => {
			clearTimeout(t);
			resolve(Buffer.concat(chunks));
		});
	});
}

// ---------------------------------------------------------------------------

describe('hostile input', () => {
	const h = useServer({
		accounts: [
			{ name: 'acct-one', email: 'owner@example.com' },
			{ name: 'acct-two', email: 'two@example.com' },
		],
	});
	const ctx = {};
	const dbs = [];

	before(async () => {
		const srv = h.srv;
		const other = srv.accounts[1];
		const main = await createDb(srv, 'hostile-main');
		const victim = await createDb(srv, 'hostile-victim');
		const scratch = await createDb(srv, 'hostile-scratch');
		const bdb = await createDb(srv, 'hostile-other', { token: other.tokens.rw, accountId: other.id });
		for (const d of [main, victim, scratch]) await seed(srv, d.uuid);
		await seed(srv, bdb.uuid, other.tokens.rw, other.id);
		for (const [d, token, accountId] of [
			[main, srv.token, srv.account.id],
			[victim, srv.token, srv.account.id],
			[scratch, srv.token, srv.account.id],
			[bdb, other.tokens.rw, other.id],
		]) {
			dbs.push({ uuid: d.uuid, name: d.name, token, accountId, extraOk: d === scratch, schema: await snapshotSchema(srv, d.uuid, token, accountId) });
		}
		Object.assign(ctx, {
			PORT: new URL(srv.url).port,
			A: srv.account.id,
			B: other.id,
			DB: main.uuid,
			NAME: main.name,
			VICTIM: victim.name,
			SCRATCH: scratch.uuid,
			BDB: bdb.uuid,
			TOK: srv.token,
			RO: srv.roToken,
			TOKB: other.tokens.rw,
			EMAIL: srv.account.email,
		});
	});

	const ROWS = [...JSON_ROWS, ...PATH_ROWS, ...HEADER_ROWS, ...SQL_ROWS];
	test(`the table has at least 150 hostile rows with unique names (${ROWS.length})`, () => {
		assert.ok(ROWS.length >= 150, `${ROWS.length} rows`);
		assert.equal(new Set([...ROWS, ...NODE_HTTP_ROWS, ...ALLOWED_ROWS].map((r) => r.name)).size, ROWS.length + NODE_HTTP_ROWS.length + ALLOWED_ROWS.length);
	});

	for (const row of ROWS) {
		test(row.name, { todo: row.todo }, async () => {
			const method = row.request.method ?? (row.request.body !== undefined ? 'POST' : 'GET');
			const res = await send(Number(ctx.PORT), build(row.request, ctx), { timeout: row.request.timeout ?? REQ_TIMEOUT_MS });
			assertRejected(res, row.expect, method);
			await assertAlive(h.srv, ctx);
		});
	}

	for (const row of NODE_HTTP_ROWS) {
		test(row.name, async (t) => {
			const headers = { Authorization: `Bearer ${ctx.TOK}` };
			for (const [k, v] of Object.entries(row.request.headers)) headers[k] = subst(v, ctx);
			let res;
			try {
				res = await sendNodeHttp(Number(ctx.PORT), { path: subst(row.request.path, ctx), headers });
			} catch (e) {
				if (e.code === 'ERR_INVALID_CHAR') {
					// Node refuses to put CR or LF in a header value; the raw
					// socket rows above send such bytes instead.
					t.skip(`Node refuses to send it (${e.code})`);
					return;
				}
				throw e;
			}
			assertRejected(res, row.expect, 'GET');
			await assertAlive(h.srv, ctx);
		});
	}

	for (const row of ALLOWED_ROWS) {
		test(row.name, async () => {
			const res = await send(Number(ctx.PORT), build(row.request, ctx));
			assert.equal(res.status, 200, describeRes(res));
			assert.equal(res.json?.success, true, describeRes(res));
			if (row.check) row.check(res.json.result);
		});
	}

	test('slowloris: 5 clients sending headers one byte per 200 ms do not delay others', async () => {
		const port = Number(ctx.PORT);
		const text = `GET ${subst(L, ctx)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ctx.TOK}\r\n\r\n`;
		const slow = await Promise.all(Array.from({ length: 5 }, () => openRaw(port)));
		const results = slow.map((s) => whenClosed(s, 60000));
		let pos = 0;
		const drip = setInterval(() => {
			for (const s of slow) if (!s.destroyed) s.write(text[pos]);
			pos++;
		}, 200);
		const latencies = [];
		try {
			const until = Date.now() + 3000;
			while (Date.now() < until) {
				const t0 = Date.now();
				await assertAlive(h.srv, ctx, 2000);
				latencies.push(Date.now() - t0);
				await sleep(100);
			}
		} finally {
			clearInterval(drip);
		}
		assert.ok(pos >= 10 && pos < text.length, `the slow clients sent ${pos} bytes`);
		assert.ok(latencies.length >= 10, `only ${latencies.length} requests answered in 3 s`);
		const worst = Math.max(...latencies);
		assert.ok(worst < 2000, `a request took ${worst} ms while slow clients dripped (all: ${latencies.join(', ')})`);
		for (const s of slow) s.destroy();
		await Promise.all(results);
		await assertAlive(h.srv, ctx);
	});

	test('half-closed connections: a partial request gets no 2xx/5xx and is closed; a complete one is answered', async () => {
		const port = Number(ctx.PORT);
		const partials = [
			`POST ${subst(Q, ctx)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ctx.TOK}\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{"sql":"DELETE FROM`,
			`GET ${subst(L, ctx)} HTTP/1.1\r\nHost: x\r\nAuthor`,
			`POST ${subst(Q, ctx)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ctx.TOK}\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"sql":"DELETE `,
		];
		for (const p of partials) {
			const s = await openRaw(port);
			const closed = whenClosed(s, 5000);
			s.end(p); // half-close: no more bytes will come
			const got = await closed;
			assert.ok(got !== null, `the server kept a half-closed partial request open for 5 s: ${JSON.stringify(p.slice(0, 60))}`);
			const res = parseResponse(got);
			if (res) assert.ok(res.status >= 400 && res.status < 500, `half-closed partial request answered ${describeRes(res)}`);
			await assertAlive(h.srv, ctx);
		}
		// A complete request, then the client's FIN: HTTP allows the answer.
		const s = await openRaw(port);
		const closed = whenClosed(s, 5000);
		s.end(`GET ${subst(D, ctx)}?fields=uuid HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ctx.TOK}\r\n\r\n`);
		const got = await closed;
		assert.ok(got !== null, 'no close within 5 s');
		const res = parseResponse(got);
		assert.ok(res, `no answer to a complete request sent before a half-close: ${JSON.stringify(got.toString('latin1').slice(0, 200))}`);
		assert.equal(res.status, 200, describeRes(res));
	});

	test('Content-Length: 100 with 10 bytes sent: others are answered meanwhile, and after the client closes', async () => {
		const port = Number(ctx.PORT);
		const head = `POST ${subst(Q, ctx)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ctx.TOK}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
		// 20 such clients at once, held open while others are served
		const stuck = await Promise.all(Array.from({ length: 20 }, () => openRaw(port)));
		const results = stuck.map((s) => whenClosed(s, 60000));
		for (const s of stuck) s.write(head + '{"sql":"DE');
		await sleep(300);
		for (let i = 0; i < 5; i++) {
			const t0 = Date.now();
			await assertAlive(h.srv, ctx, 2000);
			assert.ok(Date.now() - t0 < 2000, `a request took ${Date.now() - t0} ms`);
		}
		for (const s of stuck) s.destroy();
		const got = await Promise.all(results);
		for (const g of got) {
			const res = g && parseResponse(g);
			if (res) assert.ok(res.status >= 400 && res.status < 500, `a truncated body was answered ${describeRes(res)}`);
		}
		await sleep(100);
		await assertAlive(h.srv, ctx);
		// and the classic: 10 of 100 bytes, then close at once
		for (let i = 0; i < 10; i++) {
			const s = await openRaw(port);
			const closed = whenClosed(s, 5000);
			s.write(head + '{"sql":"DE', () => s.destroy());
			await closed;
		}
		await assertAlive(h.srv, ctx);
	});

	test('afterwards: every database answers, its content is intact and quick_check is ok', async () => {
		const failures = [];
		for (const d of dbs) {
			try {
				await assertIntact(h.srv, d);
			} catch (e) {
				failures.push(`${d.name}: ${e.message.split('\n')[0]}`);
			}
		}
		assert.deepEqual(failures, []);
	});

	test('afterwards: no hostile request created a database', async () => {
		const srv = h.srv;
		for (const [acct, token, want] of [
			[srv.account.id, srv.token, ['hostile-main', 'hostile-scratch', 'hostile-victim']],
			[srv.accounts[1].id, srv.accounts[1].tokens.rw, ['hostile-other']],
		]) {
			const res = await call(srv, 'GET', `/client/v4/accounts/${acct}/d1/database`, undefined, token);
			const names = assertOk(res).map((d) => d.name).sort();
			assert.deepEqual(names.filter((n) => !want.includes(n)), [], `unexpected databases: ${names}`);
		}
	});
});

// CPU bombs must end with the time limit error; the server is started with
// --query-timeout-ms 500 so that each row costs half a second.
const BOMB = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)';
const TIME_LIMIT = { status: 400, code: 7500, msg: /time limit/ };
const TIMEOUT_ROWS = [
	{ name: 'bomb: count(*) of an endless recursive CTE', request: q(`${BOMB} SELECT count(*) FROM c`), expect: TIME_LIMIT },
	{ name: 'bomb: max() of an endless recursive CTE', request: q(`${BOMB} SELECT max(x) FROM c`), expect: TIME_LIMIT },
	{ name: 'bomb: cross join of two endless CTEs', request: q(`${BOMB} SELECT count(*) FROM c AS a, c AS b`), expect: TIME_LIMIT },
	{ name: 'bomb: ORDER BY random() over an endless CTE', request: q(`${BOMB} SELECT x FROM c ORDER BY random() LIMIT 1`), expect: TIME_LIMIT },
	{ name: 'bomb: LIKE over an endless CTE', request: q(`${BOMB} SELECT count(*) FROM c WHERE printf('%d', x) LIKE '%7%7%7%7%7%7%7%7%7%'`), expect: TIME_LIMIT },
	{ name: 'bomb: through /raw', request: { path: R, body: { sql: `${BOMB} SELECT count(*) FROM c` } }, expect: TIME_LIMIT },
	{ name: 'bomb: in the second unit of a batch after a DELETE', request: { path: Q, body: { batch: [{ sql: 'DELETE FROM seed' }, { sql: `${BOMB} SELECT count(*) FROM c` }] } }, expect: TIME_LIMIT },
	{ name: 'bomb: INSERT ... SELECT from an endless CTE', request: q(`INSERT INTO seed(v) ${BOMB} SELECT 'bomb' FROM c`), expect: TIME_LIMIT },
	{ name: 'bomb: UPDATE with an endless CTE in a subquery', request: q(`UPDATE seed SET n = (${BOMB} SELECT count(*) FROM c)`), expect: TIME_LIMIT },
	{ name: 'bomb: endless CTE inside a view, then selected', request: q(`CREATE VIEW bombv AS ${BOMB} SELECT x FROM c; SELECT count(*) FROM bombv`), expect: TIME_LIMIT },
	{ name: 'bomb: read-only token', request: { ...q(`${BOMB} SELECT count(*) FROM c`), auth: 'Bearer {RO}' }, expect: TIME_LIMIT },
];

describe('hostile SQL under --query-timeout-ms 500', () => {
	// The limit is well above the bound on the read below, so that a read
	// stuck behind a bomb fails however loaded the machine is.
	const LIMIT_MS = 1500;
	const h = useServer({ args: ['--query-timeout-ms', String(LIMIT_MS)] });
	const ctx = {};
	let db;

	before(async () => {
		const srv = h.srv;
		const d = await createDb(srv, 'hostile-bombs');
		await seed(srv, d.uuid);
		db = { uuid: d.uuid, name: d.name, schema: await snapshotSchema(srv, d.uuid) };
		Object.assign(ctx, { PORT: new URL(srv.url).port, A: srv.account.id, DB: d.uuid, NAME: d.name, TOK: srv.token, RO: srv.roToken, EMAIL: srv.account.email });
	});

	for (const row of TIMEOUT_ROWS) {
		test(row.name, async () => {
			const t0 = Date.now();
			const res = await send(Number(ctx.PORT), build(row.request, ctx), { timeout: LIMIT_MS + 6000 });
			assertRejected(res, row.expect, 'POST');
			const ms = Date.now() - t0;
			assert.ok(ms >= LIMIT_MS - 100 && ms < LIMIT_MS + 5000, `the bomb ended after ${ms} ms with a ${LIMIT_MS} ms limit`);
			await assertAlive(h.srv, ctx);
		});
	}

	test('other requests are answered promptly while bombs run', async () => {
		const bombs = Array.from({ length: 3 }, () => send(Number(ctx.PORT), build(q(`${BOMB} SELECT count(*) FROM c`), ctx), { timeout: LIMIT_MS + 6000 }));
		await sleep(50);
		const t0 = Date.now();
		await assertAlive(h.srv, ctx, 2000);
		const ok = await send(Number(ctx.PORT), build(q('SELECT count(*) AS n FROM seed'), ctx));
		assert.equal(ok.status, 200, describeRes(ok));
		assert.deepEqual(ok.json.result[0].results, [{ n: SEED_N }]);
		const ms = Date.now() - t0;
		assert.ok(ms < 1000, `a read waited ${ms} ms behind running bombs`);
		for (const r of await Promise.all(bombs)) assertRejected(r, TIME_LIMIT, 'POST');
	});

	test('afterwards: the database answers, its content is intact and quick_check is ok', async () => {
		await assertIntact(h.srv, db);
	});
});
