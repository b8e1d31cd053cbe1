import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Kafka, logLevel, type KafkaConfig } from "kafkajs";
import { cacheDir, progress, run, withLock } from "./install.js";
import { canConnect, freePort } from "./ports.js";
import { ManagedProcess, makeTempDir } from "./proc.js";
import { waitUntil } from "./wait.js";

export const KAFKA_VERSION = "4.1.1";
// Kafka 4.x logs through slf4j 1.7 -> log4j2; the kafka_2.13 POM leaves the binding
// to the distribution, so without it the broker runs silently (no log to debug from).
const LOG4J_VERSION = "2.24.3";

// kafkajs warns on every producer about its v2 default partitioner; that is noise in test output.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= "1";

const java = (): string => (process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, "bin", "java") : "java");

// Short-lived, small JVMs: C1 only starts faster and serial GC adds no threads on 2 cores.
const JVM_FLAGS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-Djava.awt.headless=true"];

function pom(): string {
  const dep = (g: string, a: string, v: string) =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>meshscope.test</groupId><artifactId>kafka-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    ${dep("org.apache.kafka", "kafka_2.13", KAFKA_VERSION)}
    ${dep("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION)}
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version>
  </plugin></plugins></build>
</project>
`;
}

const CLUSTER_ID_RE = /^[A-Za-z0-9_-]{22}$/;

/** Proves the jar set can load the tools and that logging is bound (no slf4j NOP fallback). */
async function verifyJars(libs: string): Promise<void> {
  const r = await run(java(), [...JVM_FLAGS, "-cp", path.join(libs, "*"), "kafka.tools.StorageTool", "random-uuid"], {
    timeoutMs: 60_000,
  });
  const out = (r.stdout + r.stderr).trim();
  if (!CLUSTER_ID_RE.test(r.stdout.trim().split("\n").at(-1) ?? "")) throw new Error(`StorageTool random-uuid printed: ${out}`);
  if (out.includes("StaticLoggerBinder")) throw new Error(`no slf4j binding in ${libs}: ${out}`);
  if (!fs.readdirSync(libs).some((f) => f === `kafka_2.13-${KAFKA_VERSION}.jar`)) throw new Error(`kafka jar missing in ${libs}`);
}

let ensured: Promise<string> | undefined;

/** Directory holding the broker's runtime classpath, fetched from Maven Central on first use. */
export function ensureKafkaJars(): Promise<string> {
  ensured ??= locateOrInstall().catch((err) => {
    ensured = undefined;
    throw err;
  });
  return ensured;
}

async function locateOrInstall(): Promise<string> {
  const root = path.join(cacheDir(), `kafka-${KAFKA_VERSION}`);
  const libs = path.join(root, "libs");
  const marker = path.join(libs, ".meshscope-ok");
  if (fs.existsSync(marker)) return libs;
  return withLock(libs, async () => {
    if (fs.existsSync(marker)) return libs;
    const t0 = Date.now();
    progress(`fetching Kafka ${KAFKA_VERSION} jars with mvn into ${libs} (one-off)`);
    const work = makeTempDir("kafka-pom");
    const staging = `${libs}.staging`;
    try {
      fs.rmSync(staging, { recursive: true, force: true });
      fs.writeFileSync(path.join(work, "pom.xml"), pom());
      await run("mvn", [
        "-q", "-B", "dependency:copy-dependencies", "-DincludeScope=runtime", `-DoutputDirectory=${staging}`,
      ], { cwd: work });
      await verifyJars(staging);
      fs.rmSync(libs, { recursive: true, force: true });
      fs.renameSync(staging, libs);
      fs.writeFileSync(marker, `${KAFKA_VERSION}\n`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    progress(`Kafka jars ready (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return libs;
  });
}

/** Kafka's own random-uuid: 16 random bytes, base64url, never starting with '-' (CLI-safe). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

export interface StartKafkaOptions {
  name?: string;
  heapMb?: number;
  /** Extra or overriding server.properties entries. */
  properties?: Record<string, string | number | boolean>;
  startTimeoutMs?: number;
}

export class KafkaBroker {
  readonly brokers: string[];

  constructor(
    readonly proc: ManagedProcess,
    readonly port: number,
    readonly controllerPort: number,
    readonly dir: string,
  ) {
    this.brokers = [`127.0.0.1:${port}`];
  }

  get logFile(): string {
    return this.proc.logFile;
  }

  /** A kafkajs client for this broker; silent unless a logLevel is given. */
  client(config: Partial<KafkaConfig> = {}): Kafka {
    return new Kafka({ clientId: "meshscope-test", logLevel: logLevel.NOTHING, ...config, brokers: this.brokers });
  }

  async createTopic(name: string, partitions = 1): Promise<void> {
    const admin = this.client().admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  }

  logTail(n = 40): string {
    return this.proc.logTail(n);
  }

  /** SIGTERM lets the broker close its logs cleanly; SIGKILL after 15 s. */
  async stop(): Promise<void> {
    await this.proc.stop(15_000);
    if (!process.env.MESHSCOPE_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const libs = await ensureKafkaJars();
  const name = opts.name ?? "kafka";
  const dir = makeTempDir(name.replace(/[^\w.-]/g, "_"));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const props: Record<string, string | number | boolean> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.bootstrap.servers": `127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "log.dirs": path.join(dir, "data"),
    "num.partitions": 1,
    "auto.create.topics.enable": true,
    "offsets.topic.replication.factor": 1,
    // 50 partitions by default: creating them delays the first consumer group join by seconds.
    "offsets.topic.num.partitions": 1,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 1,
    "share.coordinator.state.topic.replication.factor": 1,
    "share.coordinator.state.topic.min.isr": 1,
    "share.coordinator.state.topic.num.partitions": 1,
    "group.initial.rebalance.delay.ms": 0,
    "num.network.threads": 1,
    "num.io.threads": 2,
    "background.threads": 2,
    "num.recovery.threads.per.data.dir": 1,
    "log.cleaner.threads": 1,
    ...opts.properties,
  };
  const propsFile = path.join(dir, "server.properties");
  fs.writeFileSync(propsFile, Object.entries(props).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
  const log4j = path.join(dir, "log4j2.properties");
  fs.writeFileSync(
    log4j,
    [
      "appender.out.type=Console",
      "appender.out.name=out",
      "appender.out.layout.type=PatternLayout",
      "appender.out.layout.pattern=[%d{HH:mm:ss,SSS}] %p %m (%c{1})%n",
      "rootLogger.level=INFO",
      "rootLogger.appenderRef.out.ref=out",
      "logger.state.name=state.change.logger",
      "logger.state.level=WARN",
      "",
    ].join("\n"),
  );
  const heap = opts.heapMb ?? 512;
  const jvm = [...JVM_FLAGS, "-Xms64m", `-Xmx${heap}m`, `-Dlog4j2.configurationFile=${log4j}`, "-cp", path.join(libs, "*")];
  const logFile = path.join(dir, "kafka.log");
  const t0 = Date.now();
  try {
    await run(java(), [...jvm, "kafka.tools.StorageTool", "format", "-t", clusterId(), "-c", propsFile, "--standalone"], {
      timeoutMs: 60_000,
    });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`kafka storage format failed: ${(err as Error).message}`);
  }
  const proc = new ManagedProcess(name, java(), [...jvm, "kafka.Kafka", propsFile], logFile);
  const broker = new KafkaBroker(proc, port, controllerPort, dir);
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const left = () => Math.max(1_000, timeoutMs - (Date.now() - t0));
  const abort = () => proc.deadReason();
  try {
    await waitUntil(() => canConnect(port), `${name} to accept connections on ${port}`, left(), { abort, intervalMs: 100 });
    const admin = broker.client({ retry: { retries: 0 }, connectionTimeout: 2_000 }).admin();
    try {
      await waitUntil(
        async () => {
          await admin.connect();
          await admin.listTopics();
          return true;
        },
        `${name} to answer listTopics`,
        left(),
        { abort, intervalMs: 100 },
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    return broker;
  } catch (err) {
    await proc.stop(5_000);
    const failure = proc.failure(`kafka ${name} did not start: ${(err as Error).message}`, 60);
    if (!process.env.MESHSCOPE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    throw failure;
  }
}
