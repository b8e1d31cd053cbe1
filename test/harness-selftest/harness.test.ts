import assert from "node:assert/strict";
import { test } from "node:test";
import { ensureEnvoy, startEnvoy } from "../harness/envoy.js";
import { ensureKafkaJars, startKafka } from "../harness/kafka.js";
import { waitUntil } from "../harness/wait.js";

const BOOTSTRAP = `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: hello
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: hello
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "hello from envoy" } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
`;

const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(2)} s`;

test("envoy: static listener answers with its direct_response", async (t) => {
  let t0 = Date.now();
  await ensureEnvoy();
  t.diagnostic(`ensureEnvoy ${secs(t0)}`);
  t0 = Date.now();
  const envoy = await startEnvoy({ bootstrapYaml: BOOTSTRAP, name: "selftest", waitReady: true });
  t.diagnostic(`startEnvoy ${secs(t0)} (admin ${envoy.adminUrl})`);
  try {
    const { hello } = await envoy.listenerPorts();
    assert.ok(hello > 0, "listener bound a port");
    const res = await fetch(`http://127.0.0.1:${hello}/anything`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "hello from envoy");

    await envoy.waitFor(async () => ((await envoy.stats())["http.hello.downstream_rq_2xx"] ?? 0) >= 1, "hello 2xx counter");
    const dump = await envoy.configDump();
    const listeners = dump.configs.find((c: any) => c["@type"].endsWith("ListenersConfigDump"));
    assert.equal(listeners.static_listeners[0].listener.name, "hello");
    assert.match(await envoy.get("/server_info"), /1\.40\.0/);
  } finally {
    await envoy.stop();
  }
});

test("envoy: two instances side by side, and a bad bootstrap fails with the log", async () => {
  const started = await Promise.allSettled([
    startEnvoy({ bootstrapYaml: BOOTSTRAP, name: "twin-a" }),
    // no admin block: the harness adds one on port 0
    startEnvoy({ bootstrapYaml: 'node: { id: "n1", cluster: "c1" }\n', name: "twin-b" }),
  ]);
  const [a, b] = started.map((r) => (r.status === "fulfilled" ? r.value : undefined));
  try {
    for (const r of started) if (r.status === "rejected") throw r.reason;
    assert.notEqual(a!.adminPort, b!.adminPort);
    assert.ok(await b!.ready());
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
  }
  await assert.rejects(
    startEnvoy({ bootstrapYaml: "static_resources: { listeners: [ { name: broken } ] }\n", name: "broken" }),
    /did not start[\s\S]*broken log/,
  );
});

test("envoy: waitFor names what it waited for", async () => {
  const envoy = await startEnvoy({ bootstrapYaml: BOOTSTRAP, name: "waiter" });
  try {
    await assert.rejects(envoy.waitFor(async () => false, "a thing that never happens", 300), /a thing that never happens/);
  } finally {
    await envoy.stop();
  }
});

test("kafka: produce and consume one message", async (t) => {
  let t0 = Date.now();
  await ensureKafkaJars();
  t.diagnostic(`ensureKafkaJars ${secs(t0)}`);
  t0 = Date.now();
  const kafka = await startKafka();
  t.diagnostic(`startKafka ${secs(t0)} (${kafka.brokers[0]})`);
  const client = kafka.client();
  const producer = client.producer();
  const consumer = client.consumer({ groupId: "selftest", maxWaitTimeInMs: 200 }) // short fetch long-poll: disconnect waits for it;
  try {
    t0 = Date.now();
    await kafka.createTopic("selftest", 1);
    await producer.connect();
    await producer.send({ topic: "selftest", messages: [{ key: "k", value: "hello kafka" }] });
    await consumer.connect();
    await consumer.subscribe({ topic: "selftest", fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value?.toString() ?? "") });
    await waitUntil(() => got.length > 0, "the consumer to receive the message", 30_000);
    assert.deepEqual(got, ["hello kafka"]);
    t.diagnostic(`topic+produce+consume ${secs(t0)}`);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    t0 = Date.now();
    await kafka.stop();
    t.diagnostic(`kafka stop ${secs(t0)}`);
  }
});
