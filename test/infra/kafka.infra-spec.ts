// Kafka broker started by `npm run infra:up`, exercised with kafkajs (the client the app uses):
// admin (topics, cluster, configs, groups), idempotent producer with acks=-1, consumer group.
import { jest } from '@jest/globals';
import { ConfigResourceTypes, Kafka, logLevel, Partitioners, type Admin, type EachBatchHandler } from 'kafkajs';
import { eventually } from '../e2e/support/eventually.js';
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
  // interval only adds commits inside a batch); patched, the interval defers the end-of-batch commit, a fetch
  // that brings nothing commits what is pending, and stop() commits it before leaving the group.
  describe('deferred commits (autoCommitInterval, patched kafkajs)', () => {
    const spread = `${topic}-commits-3`; // 3 partitions
    const single = `${topic}-commits-1`; // 1 partition
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const groups: string[] = [];

    beforeAll(async () => {
      await admin.createTopics({
        topics: [
          { topic: spread, numPartitions: 3 },
          { topic: single, numPartitions: 1 },
        ],
        waitForLeaders: true,
      });
      await producer.connect();
    });

    afterAll(async () => {
      await producer.disconnect();
      await admin.deleteGroups(groups).catch(() => undefined);
      await admin.deleteTopics({ topics: [spread, single] }).catch(() => undefined);
    });

    /** A consumer of `subscribed` from its start with a 60 s interval, counting its OffsetCommit requests. */
    const deferringConsumer = async (subscribed: string, eachBatch: EachBatchHandler) => {
      const group = `${groupId}-${subscribed}`;
      groups.push(group);
      const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
      const counts = { commits: 0 };
      consumer.on(consumer.events.COMMIT_OFFSETS, () => counts.commits++);
      await consumer.connect();
      await consumer.subscribe({ topics: [subscribed], fromBeginning: true });
      await consumer.run({ autoCommitInterval: 60_000, eachBatch });
      return { consumer, counts, group };
    };
    /** The group's committed offsets on `subscribed`, summed over its partitions (-1 each where none). */
    const committed = async (group: string, subscribed: string) =>
      (await admin.fetchOffsets({ groupId: group, topics: [subscribed] }))[0]!.partitions.reduce(
        (sum, p) => sum + Number(p.offset),
        0,
      );

    it('commits the batches of three partitions in one request, once a fetch brings nothing', async () => {
      await producer.send({
        topic: spread,
        acks: -1,
        messages: [0, 1, 2].map((partition) => ({ partition, value: `to ${partition}` })),
      });
      let handled = 0;
      const { consumer, counts, group } = await deferringConsumer(spread, async ({ batch }) => {
        handled += batch.messages.length;
      });
      try {
        await eventually(() => expect(handled).toBe(3), 20_000);
        await eventually(async () => expect(await committed(group, spread)).toBe(3), 20_000);
        expect(counts.commits).toBe(1); // unpatched: one per partition batch, 3
      } finally {
        await consumer.disconnect();
      }
    });

    it('commits at stop what the batch in flight resolved', async () => {
      await producer.send({ topic: single, acks: -1, messages: [{ value: 'in flight at stop' }] });
      let started!: () => void;
      const inFlight = new Promise<void>((resolve) => (started = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const { consumer, counts, group } = await deferringConsumer(single, async () => {
        started();
        await released;
      });
      await inFlight;
      const stopped = consumer.disconnect(); // waits for the batch, which resolves its offset as it returns
      release();
      await stopped;
      expect(counts.commits).toBe(1);
      expect(await committed(group, single)).toBe(1); // without the commit in stop(): -1, the deferred commit never came
    });
  });
});
