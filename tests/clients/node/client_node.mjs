// SPDX-License-Identifier: Apache-2.0
// Conformance of the real @kubernetes/client-node (pinned in package.json) against a ckube
// server whose kubeconfig is in $KUBECONFIG (TLS with the cluster CA, bearer token): CRUD of
// ConfigMaps, Deployments, Services and Namespaces, label selectors, paging, watch from a
// resourceVersion, merge / JSON / strategic merge patches, server-side apply, Status errors
// parsed by the client, delete propagation, and makeInformer (ListWatch) converging after
// creates and deletes. Prints "PASS <case>", "FAIL <case>: ..." or, for a ckube deviation
// listed in KNOWN, "KNOWN-FAIL <case>: <reason>"; exits non-zero if any other case fails.
// usage: KUBECONFIG=... node client_node.mjs [case,...]
import * as k8s from '@kubernetes/client-node';

// Cases that fail because of a ckube deviation from upstream, with the reason.
const KNOWN = {};

const kc = new k8s.KubeConfig();
kc.loadFromDefault();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);

class Fail extends Error {}
const expect = (cond, msg) => {
    if (!cond) throw new Fail(msg);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const as = (ctype) => k8s.setHeaderOptions('Content-Type', ctype);

const cm = (name, data = { a: '1' }, labels = undefined) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels },
    data,
});
const deployment = (name, replicas = 1) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] },
        },
    },
});

// Runs fn, expects an ApiException with that code and a Status of that reason; returns it.
async function expectApiError(fn, code, reason) {
    try {
        await fn();
    } catch (e) {
        if (!(e instanceof k8s.ApiException)) throw e;
        expect(e.code === code, `status ${e.code}, want ${code}: ${JSON.stringify(e.body)}`);
        const st = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
        expect(st.kind === 'Status' && st.reason === reason, `Status ${JSON.stringify(st)}, want ${reason}`);
        return st;
    }
    throw new Fail(`expected ApiException ${code} ${reason}, got success`);
}

async function newNs(name) {
    await core.createNamespace({ body: { metadata: { name } } });
    return name;
}

const cases = {
    async crud_configmap(ns) {
        const c = await core.createNamespacedConfigMap({ namespace: ns, body: cm('c1', { k: 'v' }) });
        expect(c.metadata.uid && c.metadata.resourceVersion, 'no uid/resourceVersion');
        const got = await core.readNamespacedConfigMap({ name: 'c1', namespace: ns });
        expect(got.data.k === 'v', `read ${JSON.stringify(got.data)}`);
        got.data.k = 'v2';
        const upd = await core.replaceNamespacedConfigMap({ name: 'c1', namespace: ns, body: got });
        expect(upd.data.k === 'v2' && upd.metadata.resourceVersion !== got.metadata.resourceVersion, 'replace');
        got.data.k = 'v3';
        await expectApiError(() => core.replaceNamespacedConfigMap({ name: 'c1', namespace: ns, body: got }), 409, 'Conflict');
        const lst = await core.listNamespacedConfigMap({ namespace: ns });
        expect(lst.items.map((i) => i.metadata.name).join() === 'c1', 'list');
        const st = await core.deleteNamespacedConfigMap({ name: 'c1', namespace: ns });
        expect(st.status === 'Success', `delete answered ${JSON.stringify(st)}`);
        await expectApiError(() => core.readNamespacedConfigMap({ name: 'c1', namespace: ns }), 404, 'NotFound');
    },

    async crud_deployment(ns) {
        let d = await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 2) });
        expect(d.metadata.generation === 1 && d.spec.strategy.type === 'RollingUpdate', 'defaults');
        d.spec.template.spec.containers[0].image = 'nginx:1.26';
        d = await apps.replaceNamespacedDeployment({ name: 'web', namespace: ns, body: d });
        expect(d.metadata.generation === 2, `generation ${d.metadata.generation}`);
        const sc = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: ns });
        expect(sc.spec.replicas === 2, 'scale');
        await apps.deleteNamespacedDeployment({ name: 'web', namespace: ns });
        await expectApiError(() => apps.readNamespacedDeployment({ name: 'web', namespace: ns }), 404, 'NotFound');
    },

    async crud_service(ns) {
        const s = await core.createNamespacedService({
            namespace: ns,
            body: { metadata: { name: 'svc' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
        });
        expect(s.spec.clusterIP && s.spec.clusterIP !== 'None', `clusterIP ${s.spec.clusterIP}`);
        expect(s.spec.ports[0].protocol === 'TCP', 'port defaults');
        await core.deleteNamespacedService({ name: 'svc', namespace: ns });
        await expectApiError(() => core.readNamespacedService({ name: 'svc', namespace: ns }), 404, 'NotFound');
    },

    async crud_namespace(ns) {
        const name = `${ns}-x`;
        const n = await core.createNamespace({ body: { metadata: { name } } });
        expect(n.status.phase === 'Active', `phase ${n.status.phase}`);
        await core.createNamespacedConfigMap({ namespace: name, body: cm('inside') });
        await core.deleteNamespace({ name });
        for (let i = 0; i < 100; i++) {
            try {
                await core.readNamespace({ name });
            } catch (e) {
                expect(e.code === 404, `readNamespace: ${e}`);
                return;
            }
            await sleep(100);
        }
        throw new Fail(`namespace ${name} still there 10 s after delete`);
    },

    async label_selectors(ns) {
        for (const [n, grp] of [['l1', 'a'], ['l2', 'b'], ['l3', 'a'], ['l4', null]])
            await core.createNamespacedConfigMap({ namespace: ns, body: cm(n, undefined, grp ? { grp } : { x: 'y' }) });
        const names = async (labelSelector) =>
            (await core.listNamespacedConfigMap({ namespace: ns, labelSelector })).items.map((i) => i.metadata.name).sort().join();
        expect((await names('grp=a')) === 'l1,l3', 'grp=a');
        expect((await names('grp in (a,b)')) === 'l1,l2,l3', 'in');
        expect((await names('!grp')) === 'l4', '!grp');
        await expectApiError(() => core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'grp in a' }), 400, 'BadRequest');
    },

    async paging(ns) {
        for (let i = 0; i < 7; i++) await core.createNamespacedConfigMap({ namespace: ns, body: cm(`p${i}`) });
        const seen = [];
        let token;
        let pages = 0;
        let rv;
        do {
            const page = await core.listNamespacedConfigMap({ namespace: ns, limit: 3, _continue: token });
            pages++;
            expect(page.items.length <= 3, 'page size');
            if (rv === undefined) {
                rv = page.metadata.resourceVersion;
                expect(page.metadata.remainingItemCount === 4, `remainingItemCount ${page.metadata.remainingItemCount}`);
                await core.createNamespacedConfigMap({ namespace: ns, body: cm('p9') });
            } else {
                expect(page.metadata.resourceVersion === rv, 'page rv changed');
            }
            seen.push(...page.items.map((i) => i.metadata.name));
            token = page.metadata._continue;
        } while (token);
        expect(seen.join() === 'p0,p1,p2,p3,p4,p5,p6' && pages === 3, `paged ${seen} in ${pages} pages`);
    },

    async watch(ns) {
        await core.createNamespacedConfigMap({ namespace: ns, body: cm('before') });
        const rv = (await core.listNamespacedConfigMap({ namespace: ns })).metadata.resourceVersion;
        const got = [];
        let ctl;
        const done = new Promise((resolve, reject) => {
            new k8s.Watch(kc)
                .watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: rv, allowWatchBookmarks: true },
                    (type, obj) => {
                        if (type === 'BOOKMARK') return;
                        got.push([type, obj.metadata.name, Number(obj.metadata.resourceVersion)]);
                        if (type === 'DELETED') resolve();
                    },
                    (err) => (err ? reject(err) : resolve()))
                .then((c) => (ctl = c), reject);
        });
        await sleep(200);
        await core.createNamespacedConfigMap({ namespace: ns, body: cm('w1') });
        await core.patchNamespacedConfigMap({ name: 'w1', namespace: ns, body: { data: { a: '2' } } }, as(k8s.PatchStrategy.MergePatch));
        await core.deleteNamespacedConfigMap({ name: 'w1', namespace: ns });
        await Promise.race([done, sleep(10000).then(() => { throw new Fail(`watch: only ${JSON.stringify(got)}`); })]);
        ctl?.abort();
        expect(got.map((g) => `${g[0]}/${g[1]}`).join() === 'ADDED/w1,MODIFIED/w1,DELETED/w1', `events ${JSON.stringify(got)}`);
        expect(got.every((g, i) => g[2] > Number(rv) && (i === 0 || g[2] > got[i - 1][2])), 'resourceVersions');
    },

    async patch(ns) {
        await apps.createNamespacedDeployment({ namespace: ns, body: deployment('pd') });
        const p = (body, ctype) => apps.patchNamespacedDeployment({ name: 'pd', namespace: ns, body }, as(ctype));
        let d = await p({ metadata: { labels: { m: '1' } }, spec: { replicas: 2 } }, k8s.PatchStrategy.MergePatch);
        expect(d.metadata.labels.m === '1' && d.spec.replicas === 2, 'merge patch');
        d = await p([{ op: 'replace', path: '/spec/replicas', value: 4 }], k8s.PatchStrategy.JsonPatch);
        expect(d.spec.replicas === 4, 'json patch');
        d = await p({ spec: { template: { spec: { containers: [{ name: 'side', image: 'busybox' }] } } } }, k8s.PatchStrategy.StrategicMergePatch);
        const names = d.spec.template.spec.containers.map((c) => c.name).sort().join();
        expect(names === 'c,side', `strategic merge containers ${names}`);
        await expectApiError(() => p([{ op: 'test', path: '/spec/replicas', value: 99 }], k8s.PatchStrategy.JsonPatch), 422, 'Invalid');
    },

    async server_side_apply(ns) {
        const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa', namespace: ns }, data: { a: '1' } };
        const apply = (b, fieldManager, force) =>
            core.patchNamespacedConfigMap({ name: 'ssa', namespace: ns, body: b, fieldManager, force }, as(k8s.PatchStrategy.ServerSideApply));
        let c = await apply(body, 'mgr-a');
        expect(c.data.a === '1', 'apply create');
        expect(c.metadata.managedFields.some((m) => m.manager === 'mgr-a' && m.operation === 'Apply'), 'managedFields');
        const body2 = { ...body, data: { a: '2' } };
        const st = await expectApiError(() => apply(body2, 'mgr-b'), 409, 'Conflict');
        expect((st.details?.causes || []).some((x) => x.reason === 'FieldManagerConflict'), 'conflict causes');
        c = await apply(body2, 'mgr-b', true);
        expect(c.data.a === '2', 'forced apply');
        // the generic object API applies too (KubernetesObjectApi.patch with the SSA strategy)
        const objs = k8s.KubernetesObjectApi.makeApiClient(kc);
        const o = await objs.patch({ ...body, metadata: { name: 'ssa2', namespace: ns } }, undefined, undefined, 'mgr-a', undefined, k8s.PatchStrategy.ServerSideApply);
        expect(o.metadata.name === 'ssa2' && o.data.a === '1', 'KubernetesObjectApi apply');
    },

    async status_errors(ns) {
        const st = await expectApiError(() => core.readNamespacedConfigMap({ name: 'missing', namespace: ns }), 404, 'NotFound');
        expect(st.details?.name === 'missing' && st.details?.kind === 'configmaps', `details ${JSON.stringify(st.details)}`);
        await core.createNamespacedConfigMap({ namespace: ns, body: cm('dup') });
        await expectApiError(() => core.createNamespacedConfigMap({ namespace: ns, body: cm('dup') }), 409, 'AlreadyExists');
        const inv = await expectApiError(() => core.createNamespacedConfigMap({ namespace: ns, body: cm('Bad_Name') }), 422, 'Invalid');
        expect(inv.details?.causes?.[0]?.field === 'metadata.name', `causes ${JSON.stringify(inv.details)}`);
    },

    async delete_propagation(ns) {
        await apps.createNamespacedDeployment({ namespace: ns, body: deployment('fg') });
        await apps.deleteNamespacedDeployment({ name: 'fg', namespace: ns, propagationPolicy: 'Foreground' });
        const got = await apps.readNamespacedDeployment({ name: 'fg', namespace: ns });
        expect(got.metadata.deletionTimestamp && (got.metadata.finalizers || []).join() === 'foregroundDeletion',
            `metadata ${JSON.stringify(got.metadata)}`);
        await core.createNamespacedConfigMap({ namespace: ns, body: cm('orph') });
        await core.deleteNamespacedConfigMap({ name: 'orph', namespace: ns, body: { propagationPolicy: 'Orphan' } });
        const o = await core.readNamespacedConfigMap({ name: 'orph', namespace: ns });
        expect((o.metadata.finalizers || []).join() === 'orphan', 'orphan finalizer');
    },

    async informer(ns) {
        await core.createNamespacedConfigMap({ namespace: ns, body: cm('a0') });
        const inf = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns }));
        const events = [];
        let error;
        for (const ev of [k8s.ADD, k8s.UPDATE, k8s.DELETE]) inf.on(ev, (o) => events.push(`${ev}/${o.metadata.name}`));
        inf.on(k8s.ERROR, (e) => (error = e));
        await inf.start();
        const names = () => inf.list().map((o) => o.metadata.name).sort().join();
        const converge = async (want, what) => {
            for (let i = 0; i < 150; i++) {
                if (error) throw new Fail(`informer error: ${error}`);
                if (names() === want) return;
                await sleep(100);
            }
            throw new Fail(`${what}: informer has ${names()}, want ${want} (events ${events})`);
        };
        await converge('a0', 'initial list');
        for (let i = 1; i < 4; i++) await core.createNamespacedConfigMap({ namespace: ns, body: cm(`a${i}`) });
        await core.patchNamespacedConfigMap({ name: 'a1', namespace: ns, body: { data: { a: '9' } } }, as(k8s.PatchStrategy.MergePatch));
        await core.deleteNamespacedConfigMap({ name: 'a0', namespace: ns });
        await core.deleteNamespacedConfigMap({ name: 'a2', namespace: ns });
        await converge('a1,a3', 'after creates and deletes');
        expect(inf.get('a1', ns)?.data?.a === '9', 'update not seen by the informer cache');
        expect(events.includes('update/a1') && events.includes('delete/a2'), `events ${events}`);
        await inf.stop();
    },
};

const only = (process.argv[2] || '').split(',').filter(Boolean);
let passed = 0;
let failed = 0;
let known = 0;
for (const [name, fn] of Object.entries(cases)) {
    if (only.length && !only.includes(name)) continue;
    const t0 = Date.now();
    let ok = true;
    let msg = '';
    try {
        await fn(await newNs(`js-${name.replaceAll('_', '-')}`));
    } catch (e) {
        ok = false;
        msg = e instanceof Fail ? e.message : (e?.stack || String(e));
    }
    const dt = ((Date.now() - t0) / 1000).toFixed(1);
    if (name in KNOWN) {
        if (ok) {
            console.log(`UNEXPECTED-PASS ${name} (listed in KNOWN: ${KNOWN[name]})`);
            passed++;
        } else {
            console.log(`KNOWN-FAIL ${name}: ${KNOWN[name]}\n    ${msg.replaceAll('\n', '\n    ')}`);
            known++;
        }
    } else if (ok) {
        console.log(`PASS ${name} (${dt}s)`);
        passed++;
    } else {
        console.log(`FAIL ${name}: ${msg}`);
        failed++;
    }
}
if (known) console.log(`client-node: ${known} known failures (KNOWN-FAIL above)`);
console.log(`client-node: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
