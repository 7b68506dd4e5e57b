// soak.mjs — minutes of mixed load on one d1d, then the figures.
//
// CONNS workers (default 64, each on its own keep-alive connection) run a
// mix of requests against DBS databases (default 50) for SOAK_SECONDS
// (default 120): point reads, scans, inserts, updates, multi-statement
// writes and batches, list and get, exports (polled, then downloaded), and
// now and then a database created, used, restored to an earlier bookmark
// and deleted. Every answer must be the expected one (200, or the 400 of
// a deliberately bad statement): any other status is an error and fails the
// run. At the end every acknowledged insert must be in its database, and
// the server's memory (VmRSS) and its open files (/proc/PID/fd, sockets
// counted apart) must not have grown beyond a bound after the warm-up: a
// leak of memory or of file descriptors shows up here.
//
//   node tests/soak/soak.mjs            (make soak; D1D_BIN, SOAK_SECONDS,
//                                        SOAK_DBS, SOAK_CONNS)
// tests/api/soak_short.test.mjs runs it for 15 seconds in make test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { startServer, assertOk, createDb } from '../api/harness.mjs';

const TRIM_KEEP = 500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKiB(pid) {
	const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return m ? Number(m[1]) : NaN;
}

/** The anonymous part of the RSS (the heap, stacks), apart from the file
 * pages mapped in (readers map their database files). */
function anonKiB(pid) {
	const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return m ? Number(m[1]) : NaN;
}

function fds(pid) {
	let files = 0;
	let sockets = 0;
	for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
		let target = '';
		try {
			target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
		} catch {
			continue; /* closed meanwhile */
		}
		if (target.startsWith('socket:')) sockets++;
		else files++;
	}
	return { files, sockets };
}

/**
 * Run the soak. Returns the figures; throws (assert) on an unexpected answer,
 * a lost row, or growth of memory or files beyond the bounds.
 * opts: {seconds, dbs, conns, env (for d1d), rssSlackKiB, log}
 */
export async function soak(opts = {}) {
	const seconds = opts.seconds ?? Number(process.env.SOAK_SECONDS ?? 120);
	const ndbs = opts.dbs ?? Number(process.env.SOAK_DBS ?? 50);
	const conns = opts.conns ?? Number(process.env.SOAK_CONNS ?? 64);
	const log = opts.log ?? ((s) => process.stderr.write(`${s}\n`));
	// Time travel keeps an 80-byte index entry per commit for its whole
	// window (30 days by default): at this load, over a thousand commits a
	// second, that alone would grow the heap for as long as the soak runs.
	// A 20-second window makes retention (snapshots, old segments and
	// index entries dropped) part of the load, and the heap must level
	// off once the warm-up has passed the window.
	const env = { D1D_HISTORY_RETENTION_S: process.env.SOAK_HISTORY_RETENTION_S ?? '20', ...opts.env };
	const srv = await startServer({ env });
	const pid = srv.child.pid;
	const files0 = fds(pid).files;
	const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
	const figures = { seconds, dbs: ndbs, conns, requests: 0, byKind: {}, errors: [] };
	try {
		const path = srv.dbPath();
		const dbs = [];
		for (let i = 0; i < ndbs; i++) {
			const d = await createDb(srv, `soak-${i}`);
			assertOk(
				await srv.api('POST', `${path}/${d.uuid}/query`, {
					body: { sql: 'CREATE TABLE kv(id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0); CREATE INDEX kv_n ON kv(n)' },
				}),
			);
			dbs.push({ uuid: d.uuid, acked: new Set(), next: 1, floor: 0 });
		}

		const req = async (kind, method, p, body, want = 200) => {
			const res = await new Promise((resolve, reject) => {
				const data = body === undefined ? undefined : JSON.stringify(body);
				const rq = http.request(
					srv.baseURL + p,
					{
						method,
						agent,
						headers: {
							Authorization: `Bearer ${srv.token}`,
							...(data === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) }),
						},
					},
					(rs) => {
						let t = '';
						rs.setEncoding('utf8');
						rs.on('data', (c) => (t += c));
						rs.on('end', () => resolve({ status: rs.statusCode, text: t }));
						rs.on('error', reject);
					},
				);
				rq.on('error', reject);
				rq.end(data);
			});
			const text = res.text;
			figures.requests++;
			figures.byKind[kind] = (figures.byKind[kind] ?? 0) + 1;
			let json;
			try {
				json = JSON.parse(text);
			} catch {
				json = undefined;
			}
			if (res.status !== want || json?.success !== (want === 200)) {
				figures.errors.push(`${kind}: HTTP ${res.status} ${text.slice(0, 300)}`);
				return null;
			}
			return json.result;
		};

		const pick = (n) => Math.floor(Math.random() * n);
		let scratch = 0;
		async function step() {
			const db = dbs[pick(dbs.length)];
			const q = `${path}/${db.uuid}/query`;
			const r = Math.random();
			if (r < 0.3) {
				const id = 1 + pick(Math.max(1, db.next));
				await req('point read', 'POST', q, { sql: 'SELECT * FROM kv WHERE id = ?', params: [id] });
			} else if (r < 0.4) {
				await req('scan', 'POST', `${path}/${db.uuid}/raw`, { sql: 'SELECT n, count(*), max(length(v)) FROM kv GROUP BY n ORDER BY n LIMIT 20' });
			} else if (r < 0.65) {
				const id = db.next++;
				const res = await req('insert', 'POST', q, { sql: 'INSERT INTO kv(id, v, n) VALUES (?, ?, ?)', params: [id, 'v'.repeat(1 + pick(400)), pick(10)] });
				if (res) db.acked.add(id);
			} else if (r < 0.67) {
				// Keep each database at about TRIM_KEEP rows, so that the
				// data (and the page caches over it) reach a steady size.
				const floor = db.next - TRIM_KEEP;
				if (floor <= db.floor) return;
				if (await req('trim', 'POST', q, { sql: 'DELETE FROM kv WHERE id < ?', params: [floor] })) db.floor = Math.max(db.floor, floor);
			} else if (r < 0.75) {
				await req('update', 'POST', q, { sql: 'UPDATE kv SET n = n + 1 WHERE id = ?', params: [1 + pick(Math.max(1, db.next))] });
			} else if (r < 0.8) {
				const a = db.next++;
				const b = db.next++;
				const res = await req('batch', 'POST', q, {
					batch: [
						{ sql: 'INSERT INTO kv(id, v) VALUES (?, ?)', params: [a, 'batch'] },
						{ sql: 'INSERT INTO kv(id, v) VALUES (?, ?)', params: [b, 'batch'] },
						{ sql: 'SELECT count(*) AS c FROM kv' },
					],
				});
				if (res) db.acked.add(a).add(b);
			} else if (r < 0.83) {
				// A failing write: the statement is refused, nothing lands.
				await req('bad sql', 'POST', q, { sql: "INSERT INTO kv(id, v) VALUES (1, 'dup'); SELECT * FROM nope" }, 400);
			} else if (r < 0.9) {
				await req('list', 'GET', `${path}?per_page=20&page=${1 + pick(3)}`);
			} else if (r < 0.98) {
				await req('get', 'GET', `${path}/${db.uuid}`);
			} else if (r < 0.985) {
				// An export, polled to the end and downloaded.
				const body = { output_format: 'polling' };
				let x = await req('export', 'POST', `${path}/${db.uuid}/export`, body);
				while (x && x.status === 'active')
					x = await req('export poll', 'POST', `${path}/${db.uuid}/export`, { ...body, current_bookmark: x.at_bookmark });
				if (x && x.status !== 'complete') figures.errors.push(`export: ${JSON.stringify(x).slice(0, 300)}`);
				else if (x) {
					const dl = await fetch(x.result.signed_url);
					const sql = await dl.text();
					figures.byKind.download = (figures.byKind.download ?? 0) + 1;
					if (dl.status !== 200 || !sql.includes('CREATE TABLE')) figures.errors.push(`download: HTTP ${dl.status}`);
				}
			} else {
				const name = `scratch-${process.pid}-${scratch++}`;
				const d = await req('create', 'POST', path, { name });
				if (!d) return;
				await req('scratch write', 'POST', `${path}/${d.uuid}/query`, { sql: "CREATE TABLE s(a); INSERT INTO s VALUES ('x'); SELECT * FROM s" });
				// Time travel on the scratch database: back to one row.
				const bm = await req('bookmark', 'GET', `${path}/${d.uuid}/time_travel/bookmark`);
				await req('scratch write', 'POST', `${path}/${d.uuid}/query`, { sql: "INSERT INTO s VALUES ('y')" });
				if (bm && (await req('restore', 'POST', `${path}/${d.uuid}/time_travel/restore?bookmark=${bm.bookmark}`))) {
					const c = await req('scratch read', 'POST', `${path}/${d.uuid}/raw`, { sql: 'SELECT count(*) FROM s' });
					if (c && c[0].results.rows[0][0] !== 1) figures.errors.push(`restore: ${c[0].results.rows[0][0]} rows, want 1`);
				}
				await req('delete', 'DELETE', `${path}/${d.uuid}`);
			}
		}

		const t0 = Date.now();
		const end = t0 + seconds * 1000;
		// 50 databases with a writer and up to 4 readers each, opened as
		// they are first needed, fill their page caches for well over 20 s
		// (measured: the heap grows 25% from 20 s to 60 s without any
		// export or restore, then stays flat).
		const warm = t0 + Math.min(40000, (seconds * 1000) / 3);
		let stop = false;
		const workers = Array.from({ length: conns }, async () => {
			while (!stop && Date.now() < end) await step();
		});
		const samples = [];
		let base = null;
		while (Date.now() < end) {
			await sleep(Math.min(1000, Math.max(0, end - Date.now())));
			if (figures.errors.length) break;
			const s = { t: Math.round((Date.now() - t0) / 1000), rss: rssKiB(pid), anon: anonKiB(pid), ...fds(pid), requests: figures.requests, exports: figures.byKind.download ?? 0 };
			samples.push(s);
			if (!base && Date.now() >= warm) base = s;
		}
		stop = true;
		await Promise.all(workers);
		const elapsed = (Date.now() - t0) / 1000;
		const last = samples[samples.length - 1];
		figures.elapsed = elapsed;
		figures.rps = Math.round(figures.requests / elapsed);
		figures.rssStartKiB = base?.rss;
		figures.rssEndKiB = last?.rss;
		figures.rssPeakKiB = Math.max(...samples.map((s) => s.rss));
		figures.anonStartKiB = base?.anon;
		figures.anonEndKiB = last?.anon;
		figures.filesStart = base?.files;
		figures.filesEnd = last?.files;
		figures.socketsStart = base?.sockets;
		figures.socketsEnd = last?.sockets;

		// Every acknowledged insert is there; nothing else is.
		let rows = 0;
		for (const db of dbs) {
			const res = assertOk(await srv.api('POST', `${path}/${db.uuid}/raw`, { body: { sql: 'SELECT id FROM kv' } }));
			const ids = new Set(res[0].results.rows.map((r) => r[0]));
			// An acknowledged trim removed every older row acknowledged
			// before it; an insert still under way may have landed below.
			const lost = [...db.acked].filter((id) => id >= db.floor && !ids.has(id));
			assert.deepEqual(lost, [], `database ${db.uuid}: acknowledged rows lost`);
			const stray = [...ids].filter((id) => !db.acked.has(id));
			assert.deepEqual(stray, [], `database ${db.uuid}: rows that were never acknowledged`);
			rows += ids.size;
		}
		figures.rows = rows;
		const list = assertOk(await srv.api('GET', `${path}?per_page=10000`));
		assert.equal(list.length, ndbs, 'scratch databases left behind');

		agent.destroy();
		await sleep(500);
		const after = { rss: rssKiB(pid), ...fds(pid) };
		figures.filesIdle = after.files;
		figures.socketsIdle = after.sockets;

		log(`soak: ${elapsed.toFixed(1)} s, ${figures.requests} requests (${figures.rps}/s) from ${conns} connections on ${ndbs} databases; ${figures.errors.length} unexpected answers`);
		log(`soak: ${Object.entries(figures.byKind).map(([k, v]) => `${k} ${v}`).join(', ')}; ${rows} rows verified`);
		log(`soak: RSS ${(figures.rssStartKiB / 1024).toFixed(1)} MiB after warm-up (${base?.t} s), ${(figures.rssEndKiB / 1024).toFixed(1)} MiB at the end, peak ${(figures.rssPeakKiB / 1024).toFixed(1)} MiB`);
		log(`soak: of which anonymous (heap) ${(figures.anonStartKiB / 1024).toFixed(1)} MiB after warm-up, ${(figures.anonEndKiB / 1024).toFixed(1)} MiB at the end; mapped files ${((figures.rssStartKiB - figures.anonStartKiB) / 1024).toFixed(1)} → ${((figures.rssEndKiB - figures.anonEndKiB) / 1024).toFixed(1)} MiB`);
		log(`soak: RSS every ${Math.round(samples.length / 10) || 1} s: ${samples.filter((_, i) => i % (Math.round(samples.length / 10) || 1) === 0).map((x) => (x.rss / 1024).toFixed(0)).join(' ')} MiB`);
		log(`soak: files open ${files0} at start, ${figures.filesStart} after warm-up, ${figures.filesEnd} at the end, ${figures.filesIdle} idle; sockets ${figures.socketsStart} / ${figures.socketsEnd} / ${figures.socketsIdle} idle`);

		assert.deepEqual(figures.errors.slice(0, 20), [], 'unexpected answers');
		assert.ok(base && last, 'no samples');
		// Bounded growth: after the warm-up the server's caches are full;
		// what grows after that is a leak.
		// A finished export stays in the job registry (about 1 KiB) for
		// the signed URL's hour, so that its client can still poll it.
		const retained = 2 * (last.exports - base.exports);
		const slack = (opts.rssSlackKiB ?? Math.max(16 * 1024, base.rss * 0.25)) + retained;
		assert.ok(last.rss <= base.rss + slack, `RSS grew from ${base.rss} KiB to ${last.rss} KiB`);
		// Files: the catalog's, plus per open database at most its writer
		// and readers (the file and its WAL each), the shared -shm and the
		// history's files; the readers open as they are first needed, so
		// the count may climb towards that bound, never past it, and
		// scratch databases that were deleted must be closed. Under load
		// each connection's thread also has its catalog read connection
		// (the file and its WAL: catalog.c), gone with the thread, and a
		// few scratch databases and exports are open.
		const bound = files0 + ndbs * (2 * (1 + 4) + 3) + 16;
		const loadBound = bound + 2 * conns + 3 * 11;
		figures.filesBound = bound;
		assert.ok(last.files <= loadBound, `open files under load: ${last.files} (bound ${loadBound})`);
		assert.ok(after.files <= bound, `open files when idle: ${after.files} (bound ${bound})`);
		// The listening socket and the harness's own keep-alive
		// connections remain; the workers' connections must be gone.
		assert.ok(after.sockets < 10, `sockets left open when idle: ${after.sockets}`);
		await srv.stop();
		return figures;
	} catch (e) {
		agent.destroy();
		await srv.stop().catch(() => {});
		throw e;
	}
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	soak().then(
		() => process.exit(0),
		(e) => {
			process.stderr.write(`soak: FAILED: ${e.stack ?? e}\n`);
			process.exit(1);
		},
	);
}
