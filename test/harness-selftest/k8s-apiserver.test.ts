// The Kubernetes harness itself: a real kube-apiserver of the pinned version,
// RBAC on, the Istio CRDs served, and a restart that keeps what etcd holds.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startApiServer, type ApiServer } from "../harness/k8s/apiserver.js";
import { versions } from "../harness/k8s/binaries.js";

describe("kubernetes harness", { timeout: 40 * 60_000 }, () => {
  let api: ApiServer;
  before(async () => {
    api = await startApiServer();
  });
  after(async () => {
    await api?.stop();
  });

  it("serves the pinned version with the Istio CRDs", async () => {
    const v = await api.request("GET", "/version");
    assert.equal(v.status, 200);
    assert.equal(v.body.gitVersion, versions.K8S_VERSION);
    const crd = await api.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sidecars.networking.istio.io");
    assert.equal(crd.status, 200);
    const sidecars = await api.request("GET", "/apis/networking.istio.io/v1/namespaces/default/sidecars");
    assert.equal(sidecars.status, 200, JSON.stringify(sidecars.body));
  });

  it("validates Istio resources against the CRD schema", async () => {
    const bad = await api.kubectl(["apply", "--dry-run=server", "-f", "-"], {
      allowFail: true,
      input: "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: bad, namespace: default}\nspec:\n  egress:\n  - captureMode: BOGUS\n",
    });
    assert.notEqual(bad.code, 0, bad.stdout);
    assert.match(bad.stderr, /captureMode/);
  });

  it("keeps objects across an apiserver restart", async () => {
    await api.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: survives, namespace: default}\ndata: {k: v}\n");
    await api.restart();
    const cm = await api.request("GET", "/api/v1/namespaces/default/configmaps/survives");
    assert.equal(cm.status, 200);
    assert.equal(cm.body.data.k, "v");
  });

  it("enforces RBAC for service accounts", async () => {
    await api.apply("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: nobody, namespace: default}\n");
    const r = await api.kubectl(["auth", "can-i", "list", "pods", "--as", "system:serviceaccount:default:nobody"], { allowFail: true });
    assert.equal(r.stdout.trim(), "no");
  });
});
