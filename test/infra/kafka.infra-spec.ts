// Kafka broker started by `npm run infra:up`, exercised with kafkajs (the client the app uses):
// admin (topics, cluster, configs, groups), idempotent producer with acks=-1, consumer group.
import { jest } from '@jest/globals';
import { ConfigResourceTypes, Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { infraEnv, runId } from './infra-env.js';

jest.setTimeout(60_000);

const kafka = new Kafka({
  clientId: `infra-spec-${runId}`,
  brokers: infraEnv.kafkaBrokers,
  logLevel: logLevel.WARN,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
});

describe('Kafka (kafkajs against the real broker)', () => {
  const topic = `infra-spec-${runId}`;
  const groupId = `infra-spec-group-${runId}`;
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('describes the cluster and the broker settings the app relies on', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBeGreaterThanOrEqual(1);

    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        {
          type: ConfigResourceTypes.BROKER,
          name: String(cluster.controller ?? cluster.brokers[0].nodeId),
          configNames: ['auto.create.topics.enable', 'num.partitions'],
        },
      ],
    });
    const cfg = Object.fromEntries(resources[0].configEntries.map((e) => [e.configName, e.configValue]));
    expect(cfg['auto.create.topics.enable']).toBe('false');
    expect(cfg['num.partitions']).toBe('3');
  });

  it('creates a topic with 3 partitions', async () => {
    await expect(admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).resolves.toBe(
      true,
    );
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0].partitions).toHaveLength(3);
    expect(await admin.listTopics()).toContain(topic);
  });

  it('produces keyed messages (idempotent, acks=-1) and a consumer group reads them in per-key order', async () => {
    const keys = ['order-1', 'order-2', 'order-3', 'order-4', 'order-5'];
    const perKey = 8;
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // EoS needs unbounded retries (kafkajs warns otherwise); the test timeout bounds the wait.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1000 },
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    for (let seq = 0; seq < perKey; seq++) {
      const acks = await producer.send({
        topic,
        acks: -1,
        messages: keys.map((key) => ({ key, value: JSON.stringify({ key, seq }) })),
      });
      expect(acks.every((a) => a.errorCode === 0)).toBe(true);
    }
    await producer.disconnect();

    const consumer = kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      rebalanceTimeout: 3000,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
    });
    const seen = new Map<string, { seq: number; partition: number }[]>();
    let count = 0;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${count} of ${keys.length * perKey} messages consumed`)),
          45_000,
        );
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              const { key, seq } = JSON.parse(message.value!.toString()) as { key: string; seq: number };
              expect(message.key!.toString()).toBe(key);
              seen.set(key, [...(seen.get(key) ?? []), { seq, partition }]);
              if (++count === keys.length * perKey) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }

    for (const key of keys) {
      const got = seen.get(key)!;
      expect(got.map((m) => m.seq)).toEqual([...Array(perKey).keys()]); // in order, no gaps, no duplicates
      expect(new Set(got.map((m) => m.partition)).size).toBe(1); // a key sticks to one partition
    }

    // committed offsets of the group add up to everything produced
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(committed).toBe(keys.length * perKey);
    const { groups } = await admin.describeGroups([groupId]);
    expect(groups[0].protocolType).toBe('consumer');
  });

  // patches/kafkajs+2.2.4.patch: kafkajs commits after every batch even with autoCommitInterval set (the
  // interval only adds commits inside a batch); patched, the interval defers the end-of-batch commit, an idle
  // fetch commits once it falls due, and stop() commits what is still pending before leaving the group.
  describe('deferred commits (autoCommitInterval, patched kafkajs)', () => {
    const commitTopic = `${topic}-commits`;
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const groups: string[] = [];

    beforeAll(async () => {
      await admin.createTopics({ topics: [{ topic: commitTopic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
    });

    afterAll(async () => {
      await producer.disconnect();
      await admin.deleteGroups(groups).catch(() => undefined);
      await admin.deleteTopics({ topics: [commitTopic] }).catch(() => undefined);
    });

    /** A consumer of the commit topic that counts its OffsetCommit requests and the messages it handled. */
    const consumerWithInterval = async (autoCommitInterval: number) => {
      const group = `${groupId}-interval-${autoCommitInterval}`;
      groups.push(group);
      const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
      const counts = { commits: 0, handled: 0 };
      consumer.on(consumer.events.COMMIT_OFFSETS, () => counts.commits++);
      await consumer.connect();
      await consumer.subscribe({ topics: [commitTopic], fromBeginning: true });
      await consumer.run({
        autoCommitInterval,
        eachBatch: async ({ batch }) => void (counts.handled += batch.messages.length),
      });
      return { consumer, counts, group };
    };
    const committed = async (group: string) =>
      Number((await admin.fetchOffsets({ groupId: group, topics: [commitTopic] }))[0].partitions[0].offset);
    const eventually = async (check: () => Promise<boolean> | boolean, what: string) => {
      const deadline = Date.now() + 20_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const end = async () => Number((await admin.fetchTopicOffsets(commitTopic))[0].high);

    it('commits none of several batches before the interval, and all of them at stop', async () => {
      const { consumer, counts, group } = await consumerWithInterval(60_000);
      const before = await end();
      for (let i = 0; i < 5; i++) {
        await producer.send({ topic: commitTopic, acks: -1, messages: [{ value: `batch ${i}` }] });
        await eventually(() => counts.handled === before + i + 1, `batch ${i}`); // each send its own batch
      }
      expect(counts.commits).toBe(0);
      expect(await committed(group)).toBe(-1);
      await consumer.disconnect();
      expect(counts.commits).toBe(1);
      expect(await committed(group)).toBe(before + 5);
    });

    it('commits on an idle fetch once the interval is reached', async () => {
      const { consumer, counts, group } = await consumerWithInterval(300);
      try {
        await producer.send({ topic: commitTopic, acks: -1, messages: [{ value: 'last before idle' }] });
        const high = await end();
        await eventually(() => counts.handled === high, 'the messages');
        // no further batch arrives: the commit comes from an empty fetch (every 100 ms) after the interval
        await eventually(async () => (await committed(group)) === high, 'the deferred commit');
      } finally {
        await consumer.disconnect();
      }
    });
  });
});
